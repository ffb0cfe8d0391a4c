# The course's client pointed at port 110 (POP3, one of the course's well-known
# ports), where nothing listens in the lab (it serves 80, 443 and 53).
import socket

mysock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
mysock.connect(('data.pr4e.org', 110))
