"""Opens a page in headless Chromium and reports what a test needs to know about it, as JSON.

    python3 tests/browser/inspect.py PAGE.html SCREENSHOT.png

Chromium is driven over the DevTools protocol on a pipe (--remote-debugging-pipe: commands
on fd 3, answers on fd 4, NUL-separated JSON), so nothing but the standard library is needed
and no port is opened. The report holds every network request the page made, every console
error, log error and uncaught exception, facts read from the DOM once the page has loaded,
and statistics of the screenshot's pixels (saved to SCREENSHOT.png). The assertions are the
caller's. Exits 2 with a message on stderr when Chromium cannot be run or does not answer.
"""

import base64
import fcntl
import json
import os
import select
import shutil
import signal
import struct
import sys
import tempfile
import time
import zlib

TIMEOUT = 60.0

# What the page is asked once loaded.
DOM_FACTS = r"""(() => {
  const text = (sel) => { const e = document.querySelector(sel); return e ? e.textContent : null; };
  const rows = [...document.querySelectorAll('#instances table.instances tbody tr')];
  return {
    title: document.title,
    description: text('#description'),
    scripts: document.scripts.length,
    instances: rows.map((tr) => tr.cells[0].textContent),
    timeline_rows: document.querySelectorAll('svg.timeline g.st').length,
    not_restored: text('#not-restored') || '',
    calls: text('#calls') || '',
    selfhosted: text('#selfhosted') || '',
    differences: text('#differences') || '',
    difference_rows: [...document.querySelectorAll('#differences table.differences tbody tr')].map((tr) => [...tr.cells].map((c) => c.textContent)),
    api: [...document.querySelectorAll('dt')].filter((d) => d.textContent === 'API').map((d) => d.nextElementSibling ? d.nextElementSibling.textContent : '').join(''),
    injected: typeof window.__planrun_injected !== 'undefined',
  };
})()"""

FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
    "--remote-debugging-pipe",
]


def fail(message):
    print(f"inspect.py: {message}", file=sys.stderr)
    sys.exit(2)


class Browser:
    def __init__(self, chromium, profile):
        to_child, self.commands = os.pipe()
        self.answers, from_child = os.pipe()
        # Above 10, so that moving them to 3 and 4 in the child never collides with them.
        high = [fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 10) for fd in (to_child, from_child)]
        os.close(to_child)
        os.close(from_child)
        self.log = open(os.path.join(profile, "chromium.log"), "wb")
        actions = [
            (os.POSIX_SPAWN_DUP2, high[0], 3),
            (os.POSIX_SPAWN_DUP2, high[1], 4),
            (os.POSIX_SPAWN_OPEN, 0, "/dev/null", os.O_RDONLY, 0),
            (os.POSIX_SPAWN_DUP2, self.log.fileno(), 1),
            (os.POSIX_SPAWN_DUP2, self.log.fileno(), 2),
        ]
        args = [chromium, *FLAGS, f"--user-data-dir={profile}", "about:blank"]
        # Its own session: at the end its helper processes go with it, by its group id.
        self.pid = os.posix_spawn(chromium, args, os.environ, file_actions=actions, setsid=True)
        for fd in high:
            os.close(fd)
        self.buffer = b""
        self.next_id = 0
        self.events = []
        self.deadline = time.monotonic() + TIMEOUT

    def send(self, method, params=None, session=None):
        self.next_id += 1
        message = {"id": self.next_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        os.write(self.commands, json.dumps(message).encode() + b"\0")
        return self.next_id

    def receive(self):
        while b"\0" not in self.buffer:
            left = self.deadline - time.monotonic()
            if left <= 0:
                fail("Chromium did not answer in time")
            ready, _, _ = select.select([self.answers], [], [], left)
            if ready:
                chunk = os.read(self.answers, 1 << 20)
                if not chunk:
                    fail("Chromium closed its DevTools pipe")
                self.buffer += chunk
        line, self.buffer = self.buffer.split(b"\0", 1)
        return json.loads(line)

    def call(self, method, params=None, session=None):
        wanted = self.send(method, params, session)
        while True:
            message = self.receive()
            if message.get("id") == wanted:
                if "error" in message:
                    fail(f"{method}: {message['error']}")
                return message.get("result", {})
            if "method" in message:
                self.events.append(message)

    def wait_event(self, method, matches):
        """The first event `method` whose params satisfy `matches`, seen or still to come."""
        for event in self.events:
            if event["method"] == method and matches(event["params"]):
                return event
        while True:
            message = self.receive()
            if "method" in message:
                self.events.append(message)
                if message["method"] == method and matches(message["params"]):
                    return message

    def close(self):
        try:
            self.send("Browser.close")
        except OSError:
            pass
        end = time.monotonic() + 10
        while time.monotonic() < end:
            pid, _ = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                break
            # Waiting for the exit: the pipe closing is the event to wait on.
            ready, _, _ = select.select([self.answers], [], [], max(0.0, end - time.monotonic()))
            if ready and not os.read(self.answers, 1 << 20):
                os.waitpid(self.pid, 0)
                break
        else:
            os.killpg(self.pid, signal.SIGKILL)
            os.waitpid(self.pid, 0)
        self.log.close()


def png_stats(data):
    """Width, height, distinct colours and the spread of luminance of an 8-bit RGB(A) PNG."""
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        fail("the screenshot is not a PNG")
    pos, idat, header = 8, b"", None
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos : pos + 8])
        body = data[pos + 8 : pos + 8 + length]
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    width, height, depth, colour = header[0], header[1], header[2], header[3]
    if depth != 8 or colour not in (2, 6):
        fail(f"unexpected PNG format: depth {depth}, colour type {colour}")
    bpp = 3 if colour == 2 else 4
    raw = zlib.decompress(idat)
    stride = width * bpp
    previous = bytearray(stride)
    colours, total, total_sq, count = set(), 0, 0, 0
    for y in range(height):
        start = y * (stride + 1)
        kind, line = raw[start], bytearray(raw[start + 1 : start + 1 + stride])
        for i in range(stride):
            left = line[i - bpp] if i >= bpp else 0
            up = previous[i]
            if kind == 1:
                line[i] = (line[i] + left) & 255
            elif kind == 2:
                line[i] = (line[i] + up) & 255
            elif kind == 3:
                line[i] = (line[i] + (left + up) // 2) & 255
            elif kind == 4:
                corner = previous[i - bpp] if i >= bpp else 0
                p = left + up - corner
                pa, pb, pc = abs(p - left), abs(p - up), abs(p - corner)
                pred = left if pa <= pb and pa <= pc else (up if pb <= pc else corner)
                line[i] = (line[i] + pred) & 255
        previous = line
        if y % 4 == 0:
            for x in range(0, width, 4):
                r, g, b = line[x * bpp : x * bpp + 3]
                colours.add((r, g, b))
                luma = (299 * r + 587 * g + 114 * b) // 1000
                total += luma
                total_sq += luma * luma
                count += 1
    mean = total / count
    return {
        "width": width,
        "height": height,
        "distinct_colours": len(colours),
        "luma_stddev": max(0.0, total_sq / count - mean * mean) ** 0.5,
    }


def main():
    if len(sys.argv) != 3:
        fail("usage: inspect.py PAGE.html SCREENSHOT.png")
    page, shot = os.path.abspath(sys.argv[1]), sys.argv[2]
    chromium = os.environ.get("CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
    if not chromium:
        fail("chromium is not installed (.ci/test installs Debian's chromium)")
    profile = tempfile.mkdtemp(prefix="planrun-chromium-")
    browser = Browser(shutil.which(chromium) or chromium, profile)
    try:
        target = browser.call("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = browser.call("Target.attachToTarget", {"targetId": target, "flatten": True})[
            "sessionId"
        ]
        for domain in ("Page", "Runtime", "Log", "Network"):
            browser.call(f"{domain}.enable", session=session)
        # The load of this navigation, told apart from about:blank's by its loader.
        browser.call("Page.setLifecycleEventsEnabled", {"enabled": True}, session=session)
        browser.call(
            "Emulation.setDeviceMetricsOverride",
            {"width": 1280, "height": 1000, "deviceScaleFactor": 1, "mobile": False},
            session=session,
        )
        url = "file://" + page
        navigated = browser.call("Page.navigate", {"url": url}, session=session)
        if navigated.get("errorText"):
            fail(f"cannot open {url}: {navigated['errorText']}")
        loader = navigated.get("loaderId")
        browser.wait_event(
            "Page.lifecycleEvent", lambda p: p["name"] == "load" and p["loaderId"] == loader
        )
        facts = browser.call(
            "Runtime.evaluate", {"expression": DOM_FACTS, "returnByValue": True}, session=session
        )
        if "exceptionDetails" in facts:
            fail(f"the DOM query failed: {facts['exceptionDetails']}")
        picture = base64.b64decode(
            browser.call("Page.captureScreenshot", {"format": "png"}, session=session)["data"]
        )
    finally:
        browser.close()
        chromium_log = open(os.path.join(profile, "chromium.log"), "rb").read()
        shutil.rmtree(profile, ignore_errors=True)
    with open(shot, "wb") as f:
        f.write(picture)
    events = browser.events
    report = {
        "url": url,
        "requests": [
            e["params"]["request"]["url"] for e in events if e["method"] == "Network.requestWillBeSent"
        ],
        "console_errors": [
            e["params"] for e in events
            if e["method"] == "Runtime.consoleAPICalled" and e["params"]["type"] in ("error", "assert")
        ],
        "exceptions": [e["params"] for e in events if e["method"] == "Runtime.exceptionThrown"],
        "log_errors": [
            e["params"]["entry"] for e in events
            if e["method"] == "Log.entryAdded" and e["params"]["entry"]["level"] == "error"
        ],
        "dom": facts["result"]["value"],
        "screenshot": png_stats(picture),
        "chromium_log_tail": chromium_log[-2000:].decode("utf-8", "replace"),
    }
    print(json.dumps(report))


if __name__ == "__main__":
    main()
