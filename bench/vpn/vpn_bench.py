#!/usr/bin/env python3
"""Pinhole's VPN against wireguard-go and the bare veth, in one run (docs/performance.md, "Mesh VPN").

Two network namespaces joined by a veth (10.0.0.1 <-> 10.0.0.2). In them, at the same time:
  bare     iperf3 straight over the veth (10.0.0.2)
  wg       wireguard-go (Debian wireguard-go + wg), 10.8.0.1 <-> 10.8.0.2, MTU 1420
  pinhole  two `pinhole vpn up` processes, 10.7.0.1 <-> 10.7.0.2, default MTU
For each test (iperf3 TCP 1 stream, TCP 4 streams, UDP at full rate) and each round, the three paths run
one after another (interleaved, so load drift hits all three alike). Per run it records throughput, the CPU
seconds of the data-plane processes (/proc/<pid>/stat utime+stime of both wireguard-go or both pinhole
processes, all threads), the CPU of the iperf3 client and server (wait4 rusage) and the ping RTT through the
same path while the transfer runs (latency under load); plus an idle ping RTT per path.

The machine may be shared: CPU seconds per GiB is the figure to compare; throughput moves with the load.

Network safety: the namespaces are this script's own (named by its PID), IPv6 is off in them, and an nftables
output/forward guard drops anything not addressed to 127.0.0.0/8 or the lab's 10.0.0.0/24, 10.7.0.0/24 and
10.8.0.0/24. Everything is torn down on exit (processes by PID, then the namespaces).

Usage (root): bench/vpn/vpn_bench.py [--rounds 3] [--seconds 10] [--only bare,wg,pinhole]
              [--tests tcp1,tcp4,udp] [--pinhole src/Pinhole.Cli/bin/Release/net10.0/pinhole.dll] [--json FILE]
Build first: dotnet build src/Pinhole.Cli -c Release
"""

import argparse
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
TICKS = os.sysconf("SC_CLK_TCK")
GIB = float(1 << 30)

PATHS = {
    "bare": {"server": "10.0.0.2", "label": "bare veth"},
    "wg": {"server": "10.8.0.2", "label": "wireguard-go"},
    "pinhole": {"server": "10.7.0.2", "label": "Pinhole"},
}
TESTS = {
    "tcp1": {"label": "TCP, 1 stream", "args": ["-P", "1"]},
    "tcp4": {"label": "TCP, 4 streams", "args": ["-P", "4"]},
    "udp": {"label": "UDP, -b 0, 1200 B", "args": ["-u", "-b", "0", "-l", "1200"]},
}


def log(message):
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def run(*command, timeout=60, check=True, input=None):
    result = subprocess.run(command, capture_output=True, text=True, timeout=timeout, input=input)
    if check and result.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} exited {result.returncode}: {result.stdout}{result.stderr}")
    return result


def cpu_seconds(pid):
    """utime + stime of a process (all its threads), in seconds."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


class Lab:
    def __init__(self):
        tag = f"phb{os.getpid():x}"
        self.a, self.b = f"{tag}-a", f"{tag}-b"
        self.namespaces = []
        self.processes = []
        self.temp = tempfile.mkdtemp(prefix="pinhole-vpn-bench-")
        self.wg_a, self.wg_b = f"wga{os.getpid():x}"[:15], f"wgb{os.getpid():x}"[:15]

    def ns(self, name, *command, **kw):
        return run("ip", "netns", "exec", name, *command, **kw)

    def start(self, name, *command, stdout=subprocess.DEVNULL):
        process = subprocess.Popen(["ip", "netns", "exec", name, *command], stdout=stdout, stderr=subprocess.STDOUT, text=True)
        self.processes.append(process)
        return process

    def up(self):
        for name in (self.a, self.b):
            run("ip", "netns", "add", name)
            self.namespaces.append(name)
            self.ns(name, "ip", "link", "set", "lo", "up")
            self.ns(name, "sysctl", "-q", "-w", "net.ipv6.conf.all.disable_ipv6=1")
            self.ns(name, "sysctl", "-q", "-w", "net.ipv6.conf.default.disable_ipv6=1")
            self.ns(name, "nft", "-f", "-", input="""
table inet bench_guard {
  chain guard_out {
    type filter hook output priority -200; policy drop;
    oifname "lo" accept
    ip daddr { 127.0.0.0/8, 10.0.0.0/24, 10.7.0.0/24, 10.8.0.0/24 } accept
  }
  chain guard_fwd {
    type filter hook forward priority -200; policy drop;
  }
}
""")
        run("ip", "link", "add", "eth0", "netns", self.a, "type", "veth", "peer", "name", "eth0", "netns", self.b)
        for name, address in ((self.a, "10.0.0.1/24"), (self.b, "10.0.0.2/24")):
            self.ns(name, "ip", "addr", "add", address, "dev", "eth0")
            self.ns(name, "ip", "link", "set", "eth0", "up")

    def down(self):
        for process in reversed(self.processes):
            if process.poll() is None:
                process.send_signal(signal.SIGINT if process.args[4:5] == ["dotnet"] else signal.SIGTERM)
        deadline = time.monotonic() + 20
        for process in self.processes:
            try:
                code = process.wait(timeout=max(0.1, deadline - time.monotonic()))
                if code not in (0, -signal.SIGTERM):
                    log(f"{' '.join(process.args[4:6])} exited {code}")
            except subprocess.TimeoutExpired:
                log(f"{' '.join(process.args[4:6])} did not stop within 20 s: killed")
                process.kill()
                process.wait()
        for name in self.namespaces:
            run("ip", "netns", "del", name, check=False)
        shutil.rmtree(self.temp, ignore_errors=True)

    # --- wireguard-go -------------------------------------------------------------------------------------
    def start_wireguard(self):
        keys = {}
        for side in ("a", "b"):
            private = run("wg", "genkey").stdout.strip()
            public = run("wg", "pubkey", input=private + "\n").stdout.strip()
            path = os.path.join(self.temp, f"wg-{side}.key")
            with open(path, "w") as f:
                f.write(private + "\n")
            os.chmod(path, 0o600)
            keys[side] = (path, public)
        env = dict(os.environ, WG_I_PREFER_BUGGY_USERSPACE_TO_POLISHED_KMOD="1")
        self.wg_pids = []
        for side, ns, dev, address, peer_side, endpoint in (
            ("a", self.a, self.wg_a, "10.8.0.1/24", "b", "10.0.0.2:51821"),
            ("b", self.b, self.wg_b, "10.8.0.2/24", "a", None),
        ):
            process = subprocess.Popen(["ip", "netns", "exec", ns, "wireguard-go", "-f", dev], env=env,
                                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            self.processes.append(process)
            self.wg_pids.append(process.pid)
            socket = f"/var/run/wireguard/{dev}.sock"
            deadline = time.monotonic() + 30
            while not os.path.exists(socket):
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"wireguard-go {dev} did not start")
                time.sleep(0.05)
            peer = ["peer", keys[peer_side][1], "allowed-ips", "10.8.0.2/32" if side == "a" else "10.8.0.1/32"]
            if endpoint:
                peer += ["endpoint", endpoint]
            self.ns(ns, "wg", "set", dev, "listen-port", "51821", "private-key", keys[side][0], *peer)
            self.ns(ns, "ip", "addr", "add", address, "dev", dev)
            self.ns(ns, "ip", "link", "set", dev, "mtu", "1420", "up")

    # --- Pinhole ------------------------------------------------------------------------------------------
    def start_pinhole(self, dll):
        ids = {}
        for side in ("a", "b"):
            home = os.path.join(self.temp, f"home-{side}")
            ids[side] = run("dotnet", dll, "--home", home, "id", timeout=120).stdout.strip()
        self.pinhole_pids = []
        for side, ns, address, peer_side, endpoint in (
            ("b", self.b, "10.7.0.2/24", "a", None),
            ("a", self.a, "10.7.0.1/24", "b", "10.0.0.2:51820"),
        ):
            config = os.path.join(self.temp, f"{side}.conf")
            with open(config, "w") as f:
                f.write(f"[Interface]\nName = ph0\nAddress = {address}\nListenPort = 51820\n\n"
                        f"[Peer]\nPeerId = {ids[peer_side]}\nAllowedIPs = 10.7.0.{1 if side == 'b' else 2}/32\n"
                        + (f"Endpoint = {endpoint}\n" if endpoint else ""))
            home = os.path.join(self.temp, f"home-{side}")
            process = self.start(ns, "dotnet", dll, "--home", home, "vpn", "up", "--config", config, stdout=subprocess.PIPE)
            deadline = time.monotonic() + 120
            for line in process.stdout:
                if " up: " in line:
                    log(f"pinhole {side}: {line.strip()}")
                    break
                if time.monotonic() > deadline:
                    raise RuntimeError("pinhole vpn up did not come up")
            else:
                raise RuntimeError(f"pinhole vpn up ({side}) exited {process.wait()}")
            # Keep draining its output so it never blocks on a full pipe.
            threading.Thread(target=lambda p=process: [None for _ in p.stdout], daemon=True).start()
            self.pinhole_pids.append(process.pid)

    def wait_reachable(self, address):
        deadline = time.monotonic() + 60
        while self.ns(self.a, "ping", "-c", "1", "-W", "1", address, check=False).returncode != 0:
            if time.monotonic() > deadline:
                raise RuntimeError(f"{address} does not answer")


def wait_rusage(process, timeout):
    """Waits for a child and returns (exit code, its user+system CPU seconds)."""
    deadline = time.monotonic() + timeout
    while True:
        pid, status, usage = os.wait4(process.pid, os.WNOHANG)
        if pid == process.pid:
            process.returncode = os.waitstatus_to_exitcode(status)
            return process.returncode, usage.ru_utime + usage.ru_stime
        if time.monotonic() > deadline:
            process.kill()
            raise RuntimeError(f"{process.args} did not finish within {timeout} s")
        time.sleep(0.05)


def rtts(output):
    return [float(part.split("=")[1]) for line in output.splitlines() for part in line.split() if part.startswith("time=")]


def summarize_rtt(values):
    if not values:
        return None
    values = sorted(values)
    return {"median_ms": statistics.median(values), "p90_ms": values[int(0.9 * (len(values) - 1))], "count": len(values)}


def measure(lab, path, test, seconds, dataplane_pids):
    server_address = PATHS[path]["server"]
    server = subprocess.Popen(["ip", "netns", "exec", lab.b, "iperf3", "-s", "-1", "-B", server_address, "-p", "5201", "--forceflush"],
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    for line in server.stdout:
        if "Server listening" in line:
            break
    threading.Thread(target=lambda: [None for _ in server.stdout], daemon=True).start()
    before = {pid: cpu_seconds(pid) for pid in dataplane_pids}
    client = subprocess.Popen(["ip", "netns", "exec", lab.a, "iperf3", "-c", server_address, "-p", "5201", "-J", "-t", str(seconds),
                               "--connect-timeout", "10000", *TESTS[test]["args"]], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(1)  # let the transfer ramp up before sampling latency
    ping = subprocess.run(["ip", "netns", "exec", lab.a, "ping", "-i", "0.2", "-W", "2", "-c", str(max(1, (seconds - 2) * 5)), server_address],
                          capture_output=True, text=True, timeout=seconds + 30)
    out = client.stdout.read()
    client.stderr.read()
    code, client_cpu = wait_rusage(client, seconds + 60)
    _, server_cpu = wait_rusage(server, 60)
    after = {pid: cpu_seconds(pid) for pid in dataplane_pids}
    if code != 0:
        raise RuntimeError(f"iperf3 client exited {code}: {out[-2000:]}")
    end = json.loads(out)["end"]
    if test == "udp":
        total = end["sum"]
        sent = total["bytes"]
        received = sent * (1 - total["lost_percent"] / 100)
        seconds_run = total["seconds"]
        retransmits, lost = 0, total["lost_percent"]
    else:
        received = end["sum_received"]["bytes"]
        sent = end["sum_sent"]["bytes"]
        seconds_run = end["sum_received"]["seconds"]
        retransmits, lost = end["sum_sent"].get("retransmits", 0), 0
    dataplane_cpu = sum(after[p] - before[p] for p in dataplane_pids)
    # UDP: every datagram sent crossed the sending data plane, most of the loss is at iperf3's receiver, so
    # CPU is per GiB sent; TCP: per GiB delivered.
    gib = (sent if test == "udp" else received) / GIB
    return {
        "path": path, "test": test, "bytes": received, "gbit_s": received * 8 / seconds_run / 1e9, "sent_gbit_s": sent * 8 / seconds_run / 1e9,
        "retransmits": retransmits, "udp_lost_percent": lost,
        "dataplane_cpu_s": dataplane_cpu, "iperf_cpu_s": client_cpu + server_cpu,
        "dataplane_cpu_s_per_gib": dataplane_cpu / gib if gib else None,
        "total_cpu_s_per_gib": (dataplane_cpu + client_cpu + server_cpu) / gib if gib else None,
        "rtt_under_load": summarize_rtt(rtts(ping.stdout)),
        "ping_sent": max(1, (seconds - 2) * 5), "ping_received": len(rtts(ping.stdout)),
    }


def median_of(rows, key):
    values = [r[key] for r in rows if r.get(key) is not None]
    return statistics.median(values) if values else None


def report(results, idle, args, load_before, load_after):
    lines = [f"Command: `{' '.join(sys.argv)}`  ",
             f"Load average before/after: {load_before} / {load_after} on {os.cpu_count()} cores; "
             f"{args.rounds} rounds × {args.seconds} s per test, medians shown; UDP CPU is per GiB sent.", "",
             "| test | path | Gbit/s | × wg-go | × veth | data-plane CPU s/GiB | +iperf3 CPU s/GiB | RTT under load median / p90 ms | TCP retransmits / UDP loss |",
             "|---|---|---|---|---|---|---|---|---|"]
    for test in args.tests:
        medians = {}
        for path in args.only:
            rows = [r for r in results if r["path"] == path and r["test"] == test]
            if rows:
                medians[path] = rows
        for path, rows in medians.items():
            gbit = median_of(rows, "gbit_s")
            wg = median_of(medians["wg"], "gbit_s") if "wg" in medians else None
            bare = median_of(medians["bare"], "gbit_s") if "bare" in medians else None
            rtt = [r["rtt_under_load"] for r in rows if r["rtt_under_load"]]
            rtt_text = f"{statistics.median(x['median_ms'] for x in rtt):.2f} / {statistics.median(x['p90_ms'] for x in rtt):.2f}" if rtt else "-"
            cpu = median_of(rows, "dataplane_cpu_s_per_gib")
            total = median_of(rows, "total_cpu_s_per_gib")
            extra = (f"{median_of(rows, 'udp_lost_percent'):.1f} % of {median_of(rows, 'sent_gbit_s'):.2f} Gbit/s sent" if test == "udp"
                     else f"{median_of(rows, 'retransmits'):.0f}")
            lines.append(f"| {TESTS[test]['label']} | {PATHS[path]['label']} | {gbit:.2f} | "
                         f"{(gbit / wg) if wg else float('nan'):.2f} | {(gbit / bare) if bare else float('nan'):.3f} | "
                         f"{'-' if path == 'bare' else f'{cpu:.2f}'} | {total:.2f} | {rtt_text} | {extra} |")
    lines.append("")
    lines.append("Idle ping RTT (median of 20): " + ", ".join(f"{PATHS[p]['label']} {v['median_ms']:.3f} ms" for p, v in idle.items() if v))
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--only", default="bare,wg,pinhole")
    parser.add_argument("--tests", default="tcp1,tcp4,udp")
    parser.add_argument("--pinhole", default=os.path.join(REPO, "src/Pinhole.Cli/bin/Release/net10.0/pinhole.dll"))
    parser.add_argument("--json")
    args = parser.parse_args()
    args.only = [p for p in args.only.split(",") if p]
    args.tests = [t for t in args.tests.split(",") if t]
    if os.geteuid() != 0:
        sys.exit("needs root (network namespaces)")
    if "pinhole" in args.only and not os.path.exists(args.pinhole):
        sys.exit(f"{args.pinhole} not found: dotnet build src/Pinhole.Cli -c Release")
    lab = Lab()
    results, idle = [], {}
    load_before = open("/proc/loadavg").read().split()[0]
    try:
        lab.up()
        pids = {"bare": []}
        if "wg" in args.only:
            lab.start_wireguard()
            pids["wg"] = lab.wg_pids
        if "pinhole" in args.only:
            lab.start_pinhole(args.pinhole)
            pids["pinhole"] = lab.pinhole_pids
        for path in args.only:
            lab.wait_reachable(PATHS[path]["server"])
            ping = lab.ns(lab.a, "ping", "-i", "0.05", "-c", "20", PATHS[path]["server"], check=False)
            idle[path] = summarize_rtt(rtts(ping.stdout))
        for round_ in range(args.rounds):
            for test in args.tests:
                for path in args.only:
                    row = measure(lab, path, test, args.seconds, pids[path])
                    row["round"] = round_
                    results.append(row)
                    log(f"round {round_} {test:5} {path:8} {row['gbit_s']:6.2f} Gbit/s, data plane {row['dataplane_cpu_s']:.1f} CPU s "
                        f"({row['dataplane_cpu_s_per_gib'] or 0:.2f} s/GiB), iperf3 {row['iperf_cpu_s']:.1f} s, "
                        f"rtt {row['rtt_under_load']}, retr {row['retransmits']} loss {row['udp_lost_percent']:.1f}%")
    finally:
        lab.down()
    load_after = open("/proc/loadavg").read().split()[0]
    print(report(results, idle, args, load_before, load_after))
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"results": results, "idle": idle, "load": [load_before, load_after]}, f, indent=1)


if __name__ == "__main__":
    main()
