"""One envelope on a fresh DEALER to the broker's client port, with or without CURVE keys: what the
bus-key tests (test_bus_keys.py, test_compose.py) send to check who gets a reply."""
import msgpack
import zmq


def envelope_call(endpoint, env, curve=None, wait_s=5.0):
    """Sends one envelope on a fresh DEALER (`curve`: (secret z85, server public z85) or None) and
    returns the decoded reply, or None when nothing came back within wait_s."""
    ctx = zmq.Context.instance()
    s = ctx.socket(zmq.DEALER)
    s.setsockopt(zmq.LINGER, 0)
    try:
        if curve is not None:
            secret, server = curve
            s.curve_secretkey = secret
            s.curve_publickey = zmq.curve_public(secret)
            s.curve_serverkey = server
        s.connect(endpoint)
        s.send(msgpack.packb({"v": 1, "id": 7, **env}, use_bin_type=True))
        if not s.poll(int(wait_s * 1000), zmq.POLLIN):
            return None
        return msgpack.unpackb(s.recv(), raw=False)
    finally:
        s.close(linger=0)
