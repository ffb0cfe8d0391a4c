# A loop without `if len(data) < 1: break`: after the server closes, recv returns 0
# forever. The timer stands in for the student's Ctrl-C (SIGINT) a moment later.
import signal
import socket

mysock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
mysock.connect(('data.pr4e.org', 80))
cmd = 'GET http://data.pr4e.org/romeo.txt HTTP/1.0\r\n\r\n'.encode()
mysock.send(cmd)
signal.signal(signal.SIGALRM, lambda *_: signal.raise_signal(signal.SIGINT))
signal.setitimer(signal.ITIMER_REAL, 0.05)

while True:
    data = mysock.recv(512)
    print(data.decode(), end='')
