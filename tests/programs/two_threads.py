# Two threads fetching at once, each printing its name and the length of every piece.
import socket
import threading

def fetch(name, path, size):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.connect(('data.pr4e.org', 80))
    s.sendall(('GET http://data.pr4e.org/' + path + ' HTTP/1.0\r\n\r\n').encode())
    sizes = []
    while True:
        data = s.recv(size)
        if len(data) < 1:
            break
        sizes.append(len(data))
    s.close()
    print(name, ' '.join(str(n) for n in sizes), flush=True)

threads = [threading.Thread(target=fetch, args=('romeo', 'romeo.txt', 512)),
           threading.Thread(target=fetch, args=('cover', 'cover3.jpg', 5120))]
for t in threads:
    t.start()
for t in threads:
    t.join()
