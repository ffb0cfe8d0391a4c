# Reads one recv(512) of the answer and closes, leaving the rest unread.
import socket

mysock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
mysock.connect(('data.pr4e.org', 80))
cmd = 'GET http://data.pr4e.org/romeo.txt HTTP/1.0\r\n\r\n'.encode()
mysock.send(cmd)
data = mysock.recv(512)
print(data.decode(), end='')
mysock.close()
