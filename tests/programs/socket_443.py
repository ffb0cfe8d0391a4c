# The course's client pointed at port 443, where nothing listens in the lab.
import socket

mysock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
mysock.connect(('data.pr4e.org', 443))
