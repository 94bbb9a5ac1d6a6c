#!/usr/bin/env python3
"""Writes the seed corpora of the OSAP fuzz targets (fuzz/corpus/<target>/seed-*).

Seeds are built independently of the C++ encoders, from the layouts in PROTOCOL.md, with the
fixed keys the targets use (share key 32D4212CFFF7642B, master 0123456789ABCDEF, session key
SESSIONKEY012345), so the fuzzer starts from inputs that decrypt. Needs python3-cryptography.
Crash reproducers found later are kept next to the seeds as crash-* files; this script does not
touch them.
"""
import os
import struct
import sys

from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

HERE = os.path.dirname(os.path.abspath(__file__))
SHARE = b"32D4212CFFF7642B"
MASTER = b"0123456789ABCDEF"
SESSION = b"SESSIONKEY012345"
CBC_IV = b"01234567" + b"\0" * 8
GCM_IV = b"012345" + b"\0" * 6


def cbc(key, data):
    p = padding.PKCS7(128).padder()
    data = p.update(data) + p.finalize()
    e = Cipher(algorithms.AES(key), modes.CBC(CBC_IV)).encryptor()
    return e.update(data) + e.finalize()


def gcm(key, data):
    out = AESGCM(key).encrypt(GCM_IV, data, None)
    return out[-16:] + out[:-16]  # tag first on the wire


def varint(n):
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        out.append(b | (0x80 if n else 0))
        if not n:
            return bytes(out)


def frame(first, payload):
    return bytes([first]) + varint(len(payload)) + payload


def point():
    k = ec.derive_private_key(0x1234567890ABCDEF, ec.SECP384R1())
    return k.public_key().public_bytes(serialization.Encoding.X962,
                                       serialization.PublicFormat.UncompressedPoint)


def write(target, name, data):
    d = os.path.join(HERE, "corpus", target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "seed-" + name), "wb") as f:
        f.write(data)


def lbs():
    sn = b"TESTSN0001"
    devid = b"0123456789ABCDEFGHIJKLMNOPQRSTUV"
    v1, v2 = b"\x01\x02\x00", b"\x01\x01\x00"
    pub = point()
    sign = bytes(range(48))
    sk = SESSION
    msgs = {
        "auth-gen1": frame(0x12, v1 + b"\x00" + bytes([len(sn)]) + sn + cbc(SHARE, pub)),
        "auth-gen2": frame(0x1A, b"\x01\x01\x01" + v1 + b"\x00" + bytes([len(sn)]) + sn + gcm(SHARE, pub)),
        "auth-reply-gen1": frame(0x20, v1 + b"\x00" + cbc(SHARE, pub)),
        "auth-reply-gen2": frame(0x28, b"\x01" + v1 + b"\x00" + gcm(SHARE, pub)),
        "no-common-group": frame(0x28, b"\x00\x01\x01" + v1 + b"\x03"),
        "apply-devid": frame(0x72, v2 + sign),
        "grant-gen1": frame(0x80, v2 + b"\x00\x30" + cbc(MASTER, devid) + b"\x20" + cbc(MASTER, sk) + sign),
        "grant-gen2": frame(0x60, v2 + b"\x00" + gcm(MASTER, devid)[:16] + b"\x20" + gcm(MASTER, devid)[16:] +
                            gcm(MASTER, sk)[:16] + b"\x10" + gcm(MASTER, sk)[16:] + sign),
        "refresh": frame(0x42, v2 + b"\x20" + devid + sign),
        "refresh-i": frame(0x70, v2 + bytes([len(sn)]) + sn + b"\x20" + devid + cbc(MASTER, b"\x5c")),
        "refresh-grant": frame(0x80, v2 + b"\x00" + cbc(MASTER, b"\x5c\x22" + sk)),
        "confirm": frame(0x90, v2 + cbc(MASTER, b"\x22")),
        "das-request": frame(0xA0, v2 + cbc(sk, b'{"DevSerial":"TESTSN0001","Type":"DAS","Mode":0}')),
        "das-reply": frame(0xB0, v2 + b"\x00" + cbc(sk, b'{"Type":"DAS","DasInfo":{"Address":"127.0.0.1",'
                                                       b'"Port":1883,"UdpPort":6001,"Domain":"d","ServerID":"s"}}')),
        "stun": frame(0xC0, v2 + cbc(sk, b'{"Type":"STUN"}')),
        "error-reply": frame(0x80, v2 + b"\x05"),
    }
    for name, data in msgs.items():
        write("lbs_frame", name, b"\x0f" + data)  # chunk size 16
    # One stream with every message, fed 1 byte at a time.
    write("lbs_frame", "stream", b"\x00" + b"".join(msgs.values()))


def utf(s):
    return struct.pack(">H", len(s)) + s


def das():
    will = b"/Basic/pu2cenplt/TESTSN0001/firstconnect"
    connect = (utf(b"MQTT") + b"\x04\xee\x00\x1e" + utf(b"") + utf(will.ljust(128, b"\0")) +
               utf(cbc(SESSION, b'{"SubSerial":"TESTSN0001","DeviceID":"0123456789ABCDEFGHIJKLMNOPQRSTUV"}')) +
               utf(b"TESTSN0001") + utf(b"test"))
    pkts = {
        "connect": frame(0x10, connect),
        "connack": frame(0x20, b"\x00\x0c"),
        "publish-q1": frame(0x33, utf(b"/1100/13381") + b"\x00\x01" + cbc(SESSION, b"\x00\x09{\"Seq\":1}")),
        "publish-q0": frame(0x30, utf(b"/TESTSN0001/1000/1") + b"x"),
        "puback": frame(0x40, b"\x00\x01"),
        "subscribe": frame(0x82, b"\x00\x01" + utf(b"/TESTSN0001/#") + b"\x01" + utf(b"/iot/TESTSN0001/#") + b"\x01"),
        "suback": frame(0x90, b"\x00\x01\x01\x80"),
        "unsubscribe": frame(0xA2, b"\x00\x02" + utf(b"/TESTSN0001/#")),
        "unsuback": frame(0xB0, b"\x00\x02"),
        "pingreq": frame(0xC0, b""),
        "pingresp": frame(0xD0, b""),
        "disconnect": frame(0xE0, b""),
    }
    for name, data in pkts.items():
        write("das_packet", name, b"\x0f" + data)
    write("das_packet", "stream", b"\x02" + b"".join(pkts.values()))


def payload():
    common = b'{"CmdVer":"v1.0.0","Seq":1,"MsgType":1}'
    body = b"<Request><DevSerial>TESTSN0001</DevSerial><Authorization></Authorization></Request>"
    legacy = struct.pack(">H", len(common)) + common + body
    v3 = b'\x00\x09{"Seq":7}' + b'{"method":"report","spv":3,"state":{"reported":{"domain":"d","identifier":"i","value":1},"version":1}}'
    write("payload", "legacy-plain", b"\x00" + legacy)
    write("payload", "legacy-sealed", b"\x02" + cbc(SESSION, legacy))
    write("payload", "v3-plain", b"\x01" + v3)
    write("payload", "v3-sealed", b"\x03" + cbc(SESSION, v3))
    write("payload", "will-full", b"\x02" + cbc(SESSION, b'{"DevSerial":"","SubSerial":"TESTSN0001","Status":1,'
                                                   b'"Status":1,"DeviceID":"0123456789ABCDEFGHIJKLMNOPQRSTUV"}'))
    write("payload", "topic-model", b"\x00/iot/TESTSN0001/global/0-video/model/attribute/report/image/brightness")
    write("payload", "topic-shadow", b"\x00/iot/TESTSN0001/global/0-global/basic/shadow/set_reply")
    write("payload", "topic-ota", b"\x00/iot/TESTSN0001/global/0-global/ota/42/inform")
    write("payload", "topic-will", b"\x00/Basic/pu2cenplt/TESTSN0001/breakconnect")
    write("payload", "topic-legacy-down", b"\x00/TESTSN0001/1000/1")
    write("payload", "topic-legacy-up", b"\x00/1100/13381")


if __name__ == "__main__":
    lbs()
    das()
    payload()
    sys.exit(0)
