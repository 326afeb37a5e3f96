#!/usr/bin/env python3
"""Where the bytes of a GetManagedObjects reply go.

usage: managed_objects_bytes.py FILE

FILE: the reply's body, a{oa{sa{sv}}} little-endian, as netnsd-bench writes
it with NETNSD_BENCH_DUMP_MANAGED_OBJECTS=FILE. Prints the bytes by
interface and property, split into names, signatures, values, length words
and padding (docs/benchmarks.md, "GetManagedObjects at 1000: where the
bytes go").
"""
import struct, sys
from collections import defaultdict
b = open(sys.argv[1], 'rb').read()
pos = 0
acct = defaultdict(lambda: defaultdict(int))  # key -> category -> bytes
def pad(a, key, cat='pad'):
    global pos
    n = (-pos) % a
    acct[key][cat] += n
    pos += n
def u32(key, cat):
    pad(4, key); global pos
    v = struct.unpack_from('<I', b, pos)[0]; pos += 4; acct[key][cat] += 4; return v
def string(key, cat):
    global pos
    n = u32(key, cat + '.len'); s = b[pos:pos+n].decode(); pos += n + 1; acct[key][cat] += n + 1; return s
def sig(key, cat):
    global pos
    n = b[pos]; s = b[pos+1:pos+1+n].decode(); pos += n + 2; acct[key][cat] += n + 2; return s
def parse_sig(s, i=0):
    """one complete type from s[i:], returns end index"""
    c = s[i]
    if c == 'a': return parse_sig(s, i+1)
    if c == '(':
        i += 1
        while s[i] != ')': i = parse_sig(s, i)
        return i + 1
    if c == '{':
        i = parse_sig(s, i+1); i = parse_sig(s, i); return i + 1
    return i + 1
ALIGN = {'y':1,'b':4,'n':2,'q':2,'i':4,'u':4,'x':8,'t':8,'d':8,'s':4,'o':4,'g':1,'a':4,'(':8,'{':8,'v':1,'h':4}
SIZE = {'y':1,'b':4,'n':2,'q':2,'i':4,'u':4,'x':8,'t':8,'d':8,'h':4}
def value(t, key, cat):
    global pos
    c = t[0]
    if c in SIZE:
        pad(ALIGN[c], key); pos += SIZE[c]; acct[key][cat] += SIZE[c]; return
    if c in 'so': string(key, cat); return
    if c == 'g': sig(key, cat); return
    if c == 'v': s = sig(key, cat + '.sig'); value(s, key, cat); return
    if c == 'a':
        n = u32(key, cat + '.arraylen'); el = t[1:parse_sig(t, 1)]
        pad(ALIGN[el[0]], key); end = pos + n
        while pos < end: value(el, key, cat)
        return
    if c in '({':
        pad(8, key); inner = t[1:-1]; i = 0
        while i < len(inner):
            j = parse_sig(inner, i); value(inner[i:j], key, cat); i = j
        return
    raise ValueError(t)
# top
n = u32('top', 'arraylen'); pad(8, 'top'); end = pos + n
objects = defaultdict(int)
while pos < end:
    pad(8, 'obj'); p = string('obj', 'path')
    n2 = u32('obj', 'ifaces.arraylen'); pad(8, 'obj'); e2 = pos + n2
    while pos < e2:
        pad(8, 'obj'); iface = string('obj', 'iface-name'); objects[iface] += 1
        n3 = u32('obj', 'props.arraylen'); pad(8, 'obj'); e3 = pos + n3
        while pos < e3:
            pad(8, (iface, '*entry-pad*'))
            nlen = struct.unpack_from('<I', b, pos)[0]; name = b[pos+4:pos+4+nlen].decode()
            key = (iface, name)
            string(key, 'name'); s = sig(key, 'sig'); value(s, key, 'value')
assert pos == len(b), (pos, len(b))
tot = len(b)
print(f'total {tot} bytes; objects by interface: {dict(objects)}')
per_iface = defaultdict(int)
for k, cats in acct.items():
    if isinstance(k, tuple): per_iface[k[0]] += sum(cats.values())
print('structure (paths, interface names, array lengths, padding):', {k: dict(v) for k, v in acct.items() if not isinstance(k, tuple)})
for i, v in sorted(per_iface.items(), key=lambda x: -x[1]):
    print(f'\n{i}: {v} bytes ({100*v/tot:.1f} %), {objects[i]} objects, {v/objects[i]:.0f} a object')
    rows = [(k[1], c) for k, c in acct.items() if isinstance(k, tuple) and k[0] == i]
    for name, cats in sorted(rows, key=lambda x: -sum(x[1].values())):
        t = sum(cats.values())
        print(f'  {str(name):24} {t:8} ({100*t/tot:4.1f} %)  ' + ', '.join(f'{c} {n}' for c, n in sorted(cats.items())))
