"""An IMAP client that names itself with ID (RFC 2971), like Thunderbird or iPhone Mail.

Usage: imap-id.py HOST PORT USER PASSWORD SOURCE_ADDRESS ID_ARGUMENT [before|after]
Sends `ID <ID_ARGUMENT>` before LOGIN or (the default) after it, then logs
out. Prints `ID <status> <the server's answer>`, then LOGGED-OUT, or
REFUSED if the login fails.
"""
import imaplib
import socket
import sys

host, port, user, password, source, argument = sys.argv[1:7]
when = sys.argv[7] if len(sys.argv) > 7 else 'after'

# imaplib knows no ID command; it sends the argument as given.
imaplib.Commands['ID'] = ('NONAUTH', 'AUTH', 'SELECTED')


class Client(imaplib.IMAP4):
    # Connect from a chosen loopback address, as a client on its own network would.
    def _create_socket(self, timeout):
        return socket.create_connection((self.host, self.port), timeout, source_address=(source, 0))


def send_id(m):
    try:
        typ, data = m._simple_command('ID', argument)
        answer = m._untagged_response(typ, data, 'ID')[1]
    except imaplib.IMAP4.error as err:
        typ, answer = 'BAD', [str(err).encode()]
    print('ID', typ, b' '.join(a for a in answer if a).decode(errors='replace'), flush=True)


m = Client(host, int(port), timeout=10)
if when == 'before':
    send_id(m)
try:
    m.login(user, password)
except imaplib.IMAP4.error as err:
    print('REFUSED', err, flush=True)
    sys.exit(0)
if when == 'after':
    send_id(m)
m.logout()
print('LOGGED-OUT', flush=True)
