"""An IMAP client that logs in, selects INBOX and waits in IDLE, like a phone.

Usage: imap-idle.py HOST PORT USER PASSWORD SOURCE_ADDRESS
Prints READY once idling, then BYE or CLOSED when the server ends the session,
or REFUSED if the login fails.
"""
import imaplib
import socket
import sys

host, port, user, password, source = sys.argv[1:6]


class Client(imaplib.IMAP4):
    # Connect from a chosen loopback address, as a client on its own network would.
    def _create_socket(self, timeout):
        return socket.create_connection((self.host, self.port), timeout, source_address=(source, 0))


try:
    m = Client(host, int(port))
    m.login(user, password)
except imaplib.IMAP4.error as err:
    print('REFUSED', err, flush=True)
    sys.exit(0)
m.select('INBOX')
tag = m._new_tag().decode()
m.send(f'{tag} IDLE\r\n'.encode())
first = m.readline()
if not first.startswith(b'+'):
    print('NOIDLE', first.decode(errors='replace').strip(), flush=True)
    sys.exit(1)
print('READY', flush=True)
while True:
    try:
        line = m.readline()
    except OSError:
        line = b''
    if not line:
        print('CLOSED', flush=True)
        break
    if line.startswith(b'* BYE'):
        print('BYE', line.decode(errors='replace').strip(), flush=True)
        break
