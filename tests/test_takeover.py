"""Three real `ocrwatchd run` processes on one inbox, as three hosts (OCRWATCHD_HOST_NAME: none can see another's
pids, so only the lease tells). One is killed -9 holding claims; one is stopped (SIGSTOP) with a job in flight,
past its lease, and resumed once the work is done. The survivor takes both over when their leases expire, the
resumed one gives up what was taken without a trace in the output, and every file is done exactly once.
(One test, three daemons: the models load once, in parallel — `make test` time is short.)"""
import signal
import time

from conftest import Daemon, big_scan, scrape, sources, three_hosts, wait_for

from ocrwatchd.daemon.takeover import FORGET_AFTER

LEASE = 3.0
REFRESH = LEASE / 3


def held(d: Daemon, host: str) -> list[str]:
    root = d.inbox / ".ocrwatchd" / "processing"
    return sorted(p.name for p in root.glob(f"{host}~*/**/*") if not p.is_dir()) if root.is_dir() else []


def staged(d: Daemon, host: str) -> list:
    root = d.out / ".ocrwatchd" / "staging"
    return list(root.glob(f"{host}~*")) if root.is_dir() else []


def test_killed_and_paused_daemons_on_other_hosts_are_taken_over_once_their_leases_expire(tmp_path):
    hosts = three_hosts(tmp_path, queue=4, lease_seconds=LEASE)
    any_d = hosts["hostA"]
    gone_at: dict[str, float] = {}

    def gone(host: str) -> bool:
        """Whether the host holds no claim and no staging folder; the first time seen is kept in gone_at."""
        if not held(any_d, host) and not staged(any_d, host):
            gone_at.setdefault(host, time.monotonic())
        return host in gone_at

    # The daemon that claims big.png is stopped (SIGSTOP) at once, with big.png in flight: how long the page takes
    # to read must not matter (on a fast host it was done before the small files below were even claimed).
    (any_d.inbox / "big.png").write_bytes(big_scan(80))
    wait_for(lambda: any("big.png" in held(any_d, h) for h in hosts), 30, "big.png claimed")
    paused = next(h for h in hosts if "big.png" in held(any_d, h))
    hosts[paused].proc.send_signal(signal.SIGSTOP)
    stopped_at = {paused: time.monotonic()}
    lost_with = {paused: held(any_d, paused)}
    try:
        assert "big.png" in lost_with[paused]
        names = ["big.png"] + [f"s{i:02d}.png" for i in range(10)]
        for i, n in enumerate(names[1:]):   # pages of 12 lines: a host holds its claims for a while (~0.3 s each)
            (any_d.inbox / n).write_bytes(big_scan(12, f"scan {i}"))
        others = [h for h in hosts if h != paused]

        def another_holds_claims() -> bool:
            gone(paused)                     # its takeover may come meanwhile: noted when it does
            return any(len(held(any_d, h)) >= 2 for h in others)

        wait_for(another_holds_claims, 30, "a second daemon holding claims")
        killed = max(others, key=lambda h: len(held(any_d, h)))
        survivor = next(h for h in others if h != killed)
        hosts[killed].kill()
        stopped_at[killed] = time.monotonic()
        lost_with[killed] = held(any_d, killed)
        assert lost_with[killed]
        wait_for(lambda: gone(killed) & gone(paused), 30, f"{survivor} taking over")   # &: both noted each time
        took = {h: gone_at[h] - stopped_at[h] for h in (killed, paused)}
        print(f"\n{killed} killed -9 holding {lost_with[killed]}, {paused} stopped holding {lost_with[paused]}; "
              f"{survivor} took them over after {took[killed]:.1f} s and {took[paused]:.1f} s "
              f"(lease {LEASE:g} s, refreshed every {REFRESH:g} s)")
        # not before the leases could have expired (refreshed at most REFRESH before), and soon after
        assert LEASE - REFRESH - 0.3 <= min(took.values())
        assert max(took.values()) <= LEASE + REFRESH + 4
        s = hosts[survivor]
        wait_for(lambda: len(s.results()) >= len(names), 120, f"{survivor} doing every file")
        m = scrape(s.metrics_url)
        assert m[("ocrwatchd_takeovers_total", frozenset({("kind", "claim")}))] >= 2
    finally:
        hosts[paused].proc.send_signal(signal.SIGCONT)
    # The paused daemon wakes up: its in-flight job and its queue find their claims gone, and give them up.
    p = hosts[paused]
    wait_for(lambda: "gave up" in p.log.read_text() and "big.png" in p.log.read_text().split("gave up", 1)[1],
             60, f"{paused} giving big.png up")
    time.sleep(REFRESH * 1.5)
    assert p.proc.poll() is None                                  # it runs on, healthy
    mp = scrape(p.metrics_url)
    assert mp[("ocrwatchd_lease_lost_total", frozenset())] >= 1
    assert mp[("ocrwatchd_takeovers_total", frozenset({("kind", "lost")}))] >= 1
    assert mp[("ocrwatchd_files_total", frozenset({("inbox", str(p.inbox)), ("outcome", "done"), ("reason", "")}))] == 0
    assert not [v for (name, labels), v in mp.items() if name == "ocrwatchd_files_total" and v
                and dict(labels)["outcome"] == "failed"]                    # nothing given up counted as failed
    # the killed host's lease is removed once expired FORGET_AFTER times over (it holds nothing any more): with
    # the int8 detector every file may be done before that
    lease_dir = any_d.inbox / ".ocrwatchd" / "leases"
    wait_for(lambda: not any(f.name.startswith(killed) for f in lease_dir.iterdir()),
             FORGET_AFTER * LEASE + 3 * REFRESH + 10, f"{killed}'s lease forgotten")
    assert p.stop()[0] == 0 and hosts[survivor].stop()[0] == 0
    log_p = p.log.read_text()
    assert "Traceback" not in log_p and "failed " not in log_p
    assert "our lease" in log_p                                   # it noticed it had been away
    assert any_d.failures() == []
    assert sources(any_d.results()) == sorted(str(any_d.inbox / n) for n in names)   # each exactly once
    assert sorted(q.name for q in any_d.out.glob("*.png")) == names
    assert any_d.claimed() == [] and any_d.left_in_inbox() == []
    assert not [q for q in (any_d.out / ".ocrwatchd").rglob("*") if q.is_file()]
    assert not list((any_d.inbox / ".ocrwatchd" / "leases").glob(f"{killed}~*"))      # the dead lease is cleaned
    print(f"{paused} gave up {log_p.count('gave up')} job(s) after {time.monotonic() - stopped_at[paused]:.1f} s "
          "stopped in all")
