#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""What every vCPU of a stalled test VM is doing, from QEMU's HMP monitor.

Usage: vm-stall-dump.py MONITOR_SOCKET SYSTEM_MAP [CPUS]

For each vCPU (default 2): 'info registers' with RIP resolved against the
guest kernel's System.map, and 'info lapic' (ISR, IRR, PPR: an interrupt in
service that never saw its EOI shows there).  scripts/vm.sh runs it on a VM
that timed out, before it kills QEMU, and keeps the output as stall.txt.
"""
import bisect
import re
import socket
import sys
import time


def hmp(sock, cmd):
    """Sends one HMP command and returns what QEMU printed until its prompt."""
    sock.sendall(cmd.encode() + b"\n")
    out, deadline = b"", time.monotonic() + 10
    while not out.rstrip().endswith(b"(qemu)") and time.monotonic() < deadline:
        try:
            out += sock.recv(65536)
        except socket.timeout:
            continue
    text = out.decode(errors="replace").replace("\r", "")
    text = re.sub(r"\x1b\[[0-9;]*[A-Za-z]", "", text)
    lines = [l for l in text.split("\n") if l.strip() not in (cmd, "(qemu)")]
    return "\n".join(lines).strip()


def symbols(path):
    addrs, names = [], []
    with open(path) as f:
        for line in f:
            parts = line.split()
            if len(parts) == 3 and parts[1] in "tTwW":
                addrs.append(int(parts[0], 16))
                names.append(parts[2])
    return addrs, names


def main():
    if len(sys.argv) < 3 or sys.argv[1] in ("-h", "--help"):
        print(__doc__.strip())
        return 0 if len(sys.argv) > 1 else 2
    cpus = int(sys.argv[3]) if len(sys.argv) > 3 else 2
    addrs, names = symbols(sys.argv[2])
    sock = socket.socket(socket.AF_UNIX)
    sock.settimeout(1)
    sock.connect(sys.argv[1])
    hmp(sock, "")  # the banner
    for cpu in range(cpus):
        hmp(sock, f"cpu {cpu}")
        regs = hmp(sock, "info registers")
        m = re.search(r"RIP=([0-9a-f]{16})", regs)
        where = "?"
        if m and addrs:
            rip = int(m.group(1), 16)
            i = bisect.bisect_right(addrs, rip) - 1
            if i >= 0:
                where = f"{names[i]}+{rip - addrs[i]:#x}"
        print(f"=== vCPU {cpu}: RIP in {where}")
        print(regs)
        print(f"--- vCPU {cpu}: local APIC")
        print(hmp(sock, "info lapic"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
