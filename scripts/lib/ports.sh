# shellcheck shell=bash
# pick_free_ports PORT...: print, for each preferred TCP port, that port when
# it can be bound on 127.0.0.1, else a free one the kernel picks. A port
# found free can still be taken before a server binds it; the server's
# start-up then fails clearly. Used by the test-server libraries.
pick_free_ports() {
	/usr/bin/python3 - "$@" <<-'EOF'
		import socket, sys
		taken = []
		for want in sys.argv[1:]:
		    for port in (int(want), 0):
		        s = socket.socket()
		        try:
		            s.bind(("127.0.0.1", port))
		        except OSError:
		            s.close()
		            continue
		        taken.append(s)
		        print(s.getsockname()[1])
		        break
		for s in taken:
		    s.close()
	EOF
}
