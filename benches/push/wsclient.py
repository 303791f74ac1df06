"""A small WebSocket client (RFC 6455) over a plain socket, enough to read watchpost's
`/ws`: the upgrade, unmasked server frames, fragments, pings answered with pongs,
close. A reader thread stamps every `server_state_changed` event with the monotonic
time its frame was read, so the receipt time is the client's, as for any consumer
of the stream. Standard library only (no Debian package needed)."""
import base64, hashlib, json, os, socket, struct, threading, time

GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


class WsClient:
    """Connects to ws://host:port/path and reads events in a thread of its own."""

    def __init__(self, host, port, path, timeout=10):
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.buf = b""
        self._upgrade(host, port, path)
        self.sock.settimeout(None)
        self.send_lock = threading.Lock()
        self.cond = threading.Condition()
        self.received = []  # (monotonic receipt time, event dict)
        self.error = None
        self.reader = threading.Thread(target=self._read_loop, daemon=True)
        self.reader.start()

    def _upgrade(self, host, port, path):
        key = base64.b64encode(os.urandom(16))
        self.sock.sendall(
            f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {key.decode()}\r\n"
            "Sec-WebSocket-Version: 13\r\n\r\n".encode())
        while b"\r\n\r\n" not in self.buf:
            data = self.sock.recv(65536)
            if not data:
                raise ConnectionError("connection closed during the WebSocket upgrade")
            self.buf += data
        head, self.buf = self.buf.split(b"\r\n\r\n", 1)
        lines = head.decode("latin-1").split("\r\n")
        if " 101 " not in lines[0] + " ":
            raise ConnectionError(f"WebSocket upgrade refused: {lines[0]}")
        accept = base64.b64encode(hashlib.sha1(key + GUID).digest()).decode()
        headers = {k.strip().lower(): v.strip() for k, v in
                   (line.split(":", 1) for line in lines[1:] if ":" in line)}
        if headers.get("sec-websocket-accept") != accept:
            raise ConnectionError("WebSocket upgrade: wrong Sec-WebSocket-Accept")

    def _exact(self, n):
        while len(self.buf) < n:
            data = self.sock.recv(max(65536, n - len(self.buf)))
            if not data:
                raise ConnectionError("connection closed by the server")
            self.buf += data
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def _frame(self):
        b0, b1 = self._exact(2)
        size = b1 & 0x7F
        if size == 126:
            size = struct.unpack(">H", self._exact(2))[0]
        elif size == 127:
            size = struct.unpack(">Q", self._exact(8))[0]
        mask = self._exact(4) if b1 & 0x80 else None
        payload = self._exact(size)
        if mask:
            payload = bytes(c ^ mask[i % 4] for i, c in enumerate(payload))
        return bool(b0 & 0x80), b0 & 0x0F, payload

    def _send(self, opcode, payload=b""):
        mask = os.urandom(4)
        size = len(payload)
        head = bytes([0x80 | opcode])
        if size < 126:
            head += bytes([0x80 | size])
        elif size < 65536:
            head += bytes([0x80 | 126]) + struct.pack(">H", size)
        else:
            head += bytes([0x80 | 127]) + struct.pack(">Q", size)
        body = bytes(c ^ mask[i % 4] for i, c in enumerate(payload))
        with self.send_lock:
            self.sock.sendall(head + mask + body)

    def _messages(self):
        """Yields each text message; answers pings, stops at a close."""
        parts = []
        while True:
            fin, opcode, payload = self._frame()
            if opcode == 0x9:
                self._send(0xA, payload)
            elif opcode == 0x8:
                self._send(0x8, payload[:2])
                return
            elif opcode in (0x0, 0x1, 0x2):
                parts.append(payload)
                if fin:
                    yield b"".join(parts)
                    parts = []

    def _read_loop(self):
        try:
            for text in self._messages():
                now = time.monotonic()
                msg = json.loads(text)
                if msg.get("type") == "server_state_changed":
                    with self.cond:
                        self.received.append((now, msg))
                        self.cond.notify_all()
            self.error = "the server closed the WebSocket"
        except (OSError, ConnectionError, ValueError) as e:
            self.error = f"WebSocket read failed: {e}"
        with self.cond:
            self.cond.notify_all()

    def wait_state(self, target, to, after, deadline):
        """Receipt time of the first `server_state_changed` of `target` to `to`
        read at or after `after` (monotonic); None at `deadline` (monotonic)."""
        with self.cond:
            while True:
                for at, ev in self.received:
                    if at >= after and ev.get("target") == target and \
                            (ev.get("data") or {}).get("to") == to:
                        return at
                left = deadline - time.monotonic()
                if left <= 0 or self.error:
                    return None
                self.cond.wait(min(left, 1.0))

    def close(self):
        try:
            self._send(0x8, struct.pack(">H", 1000))
        except OSError:
            pass
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()
