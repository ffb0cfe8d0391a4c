# The course's client pointed at a host outside the offline lab.
import socket

mysock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
mysock.connect(('www.google.com', 80))
