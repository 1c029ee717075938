# 2 000 connections at once to the HTTP port given as argument; prints how each was answered (scripts/hostile-pass).
import socket,sys,time,selectors
port=int(sys.argv[1]); socks=[]; fails=0; t0=time.time()
for i in range(2000):
    s=socket.socket(); s.setblocking(False)
    try: s.connect(("127.0.0.1",port))
    except BlockingIOError: pass
    except Exception: fails+=1; continue
    socks.append(s)
time.sleep(0.5)
sel=selectors.DefaultSelector(); sent=0
for s in socks:
    try: s.send(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n"); sent+=1
    except Exception: pass
    sel.register(s, selectors.EVENT_READ)
codes={}; pending=len(socks); deadline=time.time()+20
while pending and time.time()<deadline:
    for key,_ in sel.select(timeout=1):
        s=key.fileobj
        try: d=s.recv(64)
        except Exception as e: d=None
        k=(d.split(b" ")[1].decode() if d and d.startswith(b"HTTP/") else ("closed" if d==b"" else "error"))
        codes[k]=codes.get(k,0)+1; sel.unregister(s); pending-=1
codes["no answer in 20 s"]=pending
print("2000 sockets, requests sent on",sent,"; answers:",codes,"; %.1f s"%(time.time()-t0))
for s in socks: s.close()
