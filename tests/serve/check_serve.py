#!/usr/bin/env python3
"""API tests of `vramcalc serve` over loopback (docs/serve.md), standard library only.

Starts `vramcalc serve --listen 127.0.0.1:0` (the port it prints on stderr), then:
- every endpoint's body equals, byte for byte, what the CLI prints with --json for the same
  flags (and the same exit code, in X-Vramcalc-Exit), successes and refusals alike;
- every error class: 400 invalid input, 404 unknown model and unknown path, 405 wrong method,
  408 a request too slow to arrive, 413 a body over --max-body, 415 a compressed body, each
  a JSON error document;
- hostile requests: a 100 MB body, deep JSON, a slowloris client, path tricks (/../,
  %2e%2e, //), paths and files named as models, adapters, --plot, --prices, --models-dir and in
  a deployment file; the server answers 4xx within its limits, reads no file (a file it
  would read holds a marker the answers must not contain) and stays up;
- CORS: none without --cors, the origin's headers with it; an access-log line per request.

usage: check_serve.py VRAMCALC_BINARY SOURCE_DIR
"""
import http.client
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time

BIN = os.path.abspath(sys.argv[1])
SRC = os.path.abspath(sys.argv[2])
TIMEOUT_S = 3  # the server's --timeout here
failures = []
checked = 0


def check(cond, what):
    global checked
    checked += 1
    if not cond:
        failures.append(what)
        print("FAIL:", what)


class Server:
    def __init__(self, *flags):
        env = dict(os.environ)
        env.pop("VRAMCALC_CATALOG_DIR", None)
        self.proc = subprocess.Popen([BIN, "serve", "--listen", "127.0.0.1:0", *flags], stderr=subprocess.PIPE,
                                     stdout=subprocess.DEVNULL, env=env, cwd=tempfile.gettempdir())
        self.log = []
        line = self.proc.stderr.readline().decode()
        if "listening on http://127.0.0.1:" not in line:
            sys.exit("serve did not start: " + line)
        self.port = int(line.rsplit(":", 1)[1].strip().strip("/"))
        threading.Thread(target=self._drain, daemon=True).start()

    def _drain(self):
        for raw in self.proc.stderr:
            self.log.append(raw.decode(errors="replace"))

    def request(self, method, path, body=None, headers=None, timeout=30):
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        c.request(method, path, body=body, headers=headers or {})
        r = c.getresponse()
        data = r.read()
        c.close()
        return r.status, dict((k.lower(), v) for k, v in r.getheaders()), data

    def raw(self, data, timeout=10):
        s = socket.create_connection(("127.0.0.1", self.port), timeout=timeout)
        s.sendall(data)
        out = b""
        try:
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                out += chunk
        except socket.timeout:
            pass
        s.close()
        return out

    def stop(self):
        self.proc.terminate()
        try:
            return self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return None


def cli(args, stdin=None, cwd=None):
    env = dict(os.environ)
    env.pop("VRAMCALC_CATALOG_DIR", None)
    r = subprocess.run([BIN, *args], input=stdin, capture_output=True, env=env, cwd=cwd)
    return r.stdout, r.returncode


def is_error_document(body):
    try:
        d = json.loads(body)
    except ValueError:
        return False
    return d.get("schema_version") == 1 and "error" in d and "errors" in d


# ---- the same documents as the CLI ---------------------------------------------------------

def parity(srv):
    files = os.path.join(SRC, "tests", "data", "files")
    gguf = open(os.path.join(files, "tiny-q8_0.gguf"), "rb").read()
    hf = os.path.join(SRC, "tests", "data", "hf", "Llama-2-13b-hf")
    config = open(os.path.join(hf, "config.json"), "rb").read()
    deployments = open(os.path.join(SRC, "docs", "examples", "deployments.yaml"), "rb").read()
    no_fit = b"deployments:\n  - name: big\n    model: llama3-70b\n    gpu: rtx-4090\n    context: 128k\n"
    cases = [
        # (method, path, body, headers, CLI arguments, CLI stdin, CLI cwd, HTTP status)
        ("GET", "/v1/estimate?model=llama3-8b&ctx=4k&gpu=h100", None, {}, ["llama3-8b", "--ctx", "4k", "--gpu", "h100"], None, None, 200),
        ("GET", "/v1/estimate?model=llama3-70b&quant=fp8&kv=fp8&ctx=128k&batch=4&gpu=4xh100&engine=vllm&gpu-memory-utilization=0.9",
         None, {}, ["llama3-70b", "-q", "fp8", "--kv", "fp8", "--ctx", "128k", "--batch", "4", "--gpu", "4xh100",
                    "--engine", "vllm", "--gpu-memory-utilization", "0.9"], None, None, 200),
        ("GET", "/v1/estimate?model=mixtral-8x7b&gpu=8xh100&ep=true&tp=8", None, {},
         ["mixtral-8x7b", "--gpu", "8xh100", "--ep", "--tp", "8"], None, None, 200),
        ("GET", "/v1/estimate?model=llama3-8b&ctx=8k&gpu=rtx-4090&engine=llamacpp&quant=q4_k_m&flash-attn=on&ep=false",
         None, {}, ["llama3-8b", "--ctx", "8k", "--gpu", "rtx-4090", "--engine", "llamacpp", "-q", "q4_k_m",
                    "--flash-attn", "on"], None, None, 200),
        ("GET", "/v1/estimate?model=llama3-8b&gpu=h100&max-ctx=", None, {}, ["llama3-8b", "--gpu", "h100", "--max-ctx"], None, None, 200),
        ("POST", "/v1/estimate", b'{"model": "llama3-8b", "ctx": "32k", "gpu": ["h100"], "batch": 2}',
         {"Content-Type": "application/json"}, ["llama3-8b", "--ctx", "32k", "--gpu", "h100", "--batch", "2"], None, None, 200),
        ("POST", "/v1/estimate?gpu=h100", config, {}, ["config.json", "--gpu", "h100"], None, hf, 200),
        # a GGUF uploaded whole, and its header alone with the file's size
        ("POST", "/v1/estimate?model=tiny-q8_0&gpu=h100", gguf, {}, ["tiny-q8_0.gguf", "--gpu", "h100"], None, files, 200),
        ("POST", "/v1/estimate?model=tiny-q8_0&gpu=h100&gguf-file-size=%d" % len(gguf), gguf[:4000], {},
         ["tiny-q8_0.gguf", "--gpu", "h100"], None, files, 200),
        ("GET", "/v1/plan?model=llama3-70b&ctx=32k&batch=8", None, {}, ["plan", "llama3-70b", "--ctx", "32k", "--batch", "8"], None, None, 200),
        ("GET", "/v1/compare?model=llama3-70b&model=qwen2.5-72b&ctx=32k", None, {},
         ["compare", "llama3-70b", "qwen2.5-72b", "--ctx", "32k"], None, None, 200),
        ("GET", "/v1/models", None, {}, ["list", "models"], None, None, 200),
        ("GET", "/v1/gpus", None, {}, ["list", "gpus"], None, None, 200),
        ("GET", "/v1/formats?model=llama3-70b", None, {}, ["list", "formats", "llama3-70b"], None, None, 200),
        ("POST", "/v1/check", deployments, {}, ["check", "-"], deployments, None, 200),
        ("POST", "/v1/check?gpu=h100&ctx=8k", deployments, {}, ["check", "-", "--gpu", "h100", "--ctx", "8k"], deployments, None, 200),
        ("POST", "/v1/check", no_fit, {}, ["check", "-"], no_fit, None, 200),
        ("POST", "/v1/check?vllm=vllm%20serve%20meta-llama/Llama-3.1-8B-Instruct%20--max-model-len%2016384&gpu=l4", b"", {},
         ["check", "--vllm", "vllm serve meta-llama/Llama-3.1-8B-Instruct --max-model-len 16384", "--gpu", "l4"], None, None, 200),
        # refusals: the CLI's error document, 400 (404 for an unknown model)
        ("GET", "/v1/estimate?model=llama3-8b&ctx=abc", None, {}, ["llama3-8b", "--ctx", "abc"], None, None, 400),
        ("GET", "/v1/estimate?model=llama3-8b&gpu=h1000", None, {}, ["llama3-8b", "--gpu", "h1000"], None, None, 400),
        ("GET", "/v1/estimate?model=llama3-8b&ctxx=8k", None, {}, ["llama3-8b", "--ctxx=8k"], None, None, 400),
        ("GET", "/v1/estimate?model=llama3-8b&rank=hour", None, {}, ["llama3-8b", "--rank", "hour"], None, None, 400),
        ("GET", "/v1/estimate?model=llama3-8b&quant=q9_9", None, {}, ["llama3-8b", "-q", "q9_9"], None, None, 400),
        ("GET", "/v1/estimate?model=lama3-8b", None, {}, ["lama3-8b"], None, None, 404),
        ("GET", "/v1/compare?model=llama3-70b&model=nosuch-model", None, {}, ["compare", "llama3-70b", "nosuch-model"], None, None, 404),
        ("POST", "/v1/check", b"deployments: [", {}, ["check", "-"], b"deployments: [", None, 400),
    ]
    # Twice, the second time in reverse order: a worker's parser is reused from request to
    # request, and nothing of one request may reach the next.
    for method, path, body, headers, args, stdin, cwd, status in cases + cases[::-1]:
        got_status, got_headers, got = srv.request(method, path, body, headers)
        want, rc = cli([*args, "--json"], stdin=stdin, cwd=cwd)
        check(got_status == status, f"{method} {path}: HTTP {got_status}, expected {status}")
        check(got == want, f"{method} {path}: the body differs from `vramcalc {' '.join(args)} --json` "
                           f"({len(got)} vs {len(want)} bytes)\n  got:  {got[:300]!r}\n  want: {want[:300]!r}")
        check(got_headers.get("x-vramcalc-exit") == str(rc), f"{method} {path}: X-Vramcalc-Exit "
                                                             f"{got_headers.get('x-vramcalc-exit')}, the CLI's exit code {rc}")
        check(got_headers.get("content-type") == "application/json", f"{method} {path}: Content-Type")
    print(f"parity: {len(cases)} requests, twice, equal to the CLI's --json output")


# ---- error classes -----------------------------------------------------------------------

def errors(srv):
    cases = [
        ("GET", "/nope", None, {}, 404),
        ("GET", "/v1/estimatex", None, {}, 404),
        ("DELETE", "/v1/estimate", None, {}, 405),
        ("PUT", "/v1/check", b"x", {}, 405),
        ("GET", "/v1/check", None, {}, 405),
        ("POST", "/v1/models", b"{}", {"Content-Type": "application/json"}, 405),
        ("POST", "/v1/estimate", b"x" * (1024 * 1024 + 1), {}, 413),
        ("POST", "/v1/estimate", b"\x1f\x8b", {"Content-Encoding": "gzip"}, 415),
        ("GET", "/v1/estimate?model=llama3-8b&help=", None, {}, 400),
        ("GET", "/v1/estimate?model=llama3-8b&version=true", None, {}, 400),
        ("GET", "/v1/estimate?model=llama3-8b&plot=out.svg", None, {}, 400),
        ("GET", "/v1/plan?model=llama3-8b&prices=/etc/passwd", None, {}, 400),
        ("GET", "/v1/estimate?model=llama3-8b&models-dir=/etc", None, {}, 400),
        ("GET", "/v1/estimate?model=llama3-8b&lora=/etc/passwd", None, {}, 400),
        ("GET", "/v1/estimate?model=llama3-8b&lora=adapter.gguf&engine=llamacpp", None, {}, 400),
        ("GET", "/v1/estimate?model=llama3-8b&model=llama3-70b", None, {}, 400),
        ("GET", "/v1/estimate?model=llama3-8b&ep=maybe", None, {}, 400),
        ("GET", "/v1/estimate?model=llama3-8b&%0Actx=1", None, {}, 400),
        ("POST", "/v1/estimate", b'{"model": {"a": 1}}', {"Content-Type": "application/json"}, 400),
        ("POST", "/v1/estimate", b"[" * 100000 + b"]" * 100000, {"Content-Type": "application/json"}, 400),
        ("POST", "/v1/estimate", b'{"a":' * 50000 + b"1" + b"}" * 50000, {}, 400),
        ("POST", "/v1/check", b"a: " + b"[" * 100000, {}, 400),
        ("POST", "/v1/estimate?gguf-file-size=12x", b"GGUF\x03\x00\x00\x00", {}, 400),
        ("POST", "/v1/estimate?model=tiny&gguf-file-size=89920", b"GGUF\x03\x00\x00\x00" + b"\xff" * 64, {}, 400),
        ("GET", "/v1/check", None, {}, 405),
    ]
    for method, path, body, headers, status in cases:
        got_status, _, got = srv.request(method, path, body, headers)
        shown = path if len(path) < 120 else path[:120] + "..."
        check(got_status == status, f"{method} {shown}: HTTP {got_status}, expected {status}: {got[:200]!r}")
        check(is_error_document(got), f"{method} {shown}: not a JSON error document: {got[:200]!r}")
    # a refused flag is named in the message
    _, _, got = srv.request("GET", "/v1/estimate?model=llama3-8b&plot=out.svg")
    check(b"plot" in got, "plot: the message names the parameter")
    print(f"errors: {len(cases)} error classes answered with JSON error documents")


# ---- hostile requests ------------------------------------------------------------------------

def hostile(srv, secret_dir):
    secret = os.path.join(secret_dir, "secret.json")
    marker = b"MARKER-not-to-be-read"
    # paths and files named by a request: refused without being read
    reads = [
        ("GET", "/v1/estimate?model=" + secret),
        ("GET", "/v1/estimate?model=" + os.path.join(secret_dir, "config.json")),
        ("GET", "/v1/estimate?model=" + secret_dir),
        ("GET", "/v1/estimate?model=../../../../etc/passwd"),
        ("GET", "/v1/estimate?model=/etc/passwd"),
        ("GET", "/v1/estimate?model=./secret.json"),
        ("GET", "/v1/estimate?model=llama3-8b&draft=" + secret),
        ("GET", "/v1/compare?model=llama3-8b&model=" + secret),
        ("GET", "/v1/formats?model=" + secret),
        ("GET", "/v1/plan?model=" + secret),
    ]
    for method, path in reads:
        status, _, got = srv.request(method, path)
        check(400 <= status < 500, f"{path}: HTTP {status}")
        check(marker not in got and b"root:" not in got, f"{path}: the answer holds the file's contents")
    evil = ("deployments:\n  - name: a\n    model: %s\n    gpu: h100\n  - name: b\n    model: llama3-8b\n"
            "    gpu: h100\n    draft: %s\n" % (secret, secret)).encode()
    status, _, got = srv.request("POST", "/v1/check", evil)
    check(status == 400 and marker not in got, f"check with file paths: HTTP {status}: {got[:200]!r}")
    status, _, got = srv.request("POST", "/v1/check?llama-server=llama-server%20-m%20" + secret + "&gpu=h100", b"")
    check(400 <= status < 500 and marker not in got, f"check --llama-server with a file: HTTP {status}: {got[:200]!r}")
    # path tricks: only the fixed routes answer
    for target in [b"/../etc/passwd", b"/%2e%2e/%2e%2e/etc/passwd", b"/v1/../../etc/passwd", b"//etc/passwd",
                   b"/index.html/../../etc/passwd", b"/%2e%2e%2f%2e%2e%2fetc%2fpasswd", b"/v1/estimate/../../etc/passwd",
                   b"/" + secret.encode(), b"/\x00", b"/v1/models%00.html"]:
        out = srv.raw(b"GET " + target + b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        status_line = out.split(b"\r\n", 1)[0]
        check(status_line.startswith(b"HTTP/1.1 4"), f"GET {target!r}: {status_line!r}")
        check(b"root:" not in out and marker not in out, f"GET {target!r}: a file's contents")
    # a 100 MB body: refused with 413, not buffered
    s = socket.create_connection(("127.0.0.1", srv.port), timeout=30)
    s.sendall(b"POST /v1/estimate HTTP/1.1\r\nHost: x\r\nContent-Length: 104857600\r\n\r\n")
    chunk = b"x" * 1048576
    start = time.monotonic()
    try:
        for _ in range(100):
            s.sendall(chunk)
    except OSError:
        pass  # the server may close once it has answered
    s.settimeout(30)
    out = b""
    try:
        out = s.recv(65536)
    except OSError:
        pass
    s.close()
    check(out.startswith(b"HTTP/1.1 413"), f"100 MB body: {out[:80]!r}")
    print(f"hostile: a 100 MB body answered in {time.monotonic() - start:.2f} s")
    # slowloris: a byte of a header every 0.5 s is cut off after --timeout
    s = socket.create_connection(("127.0.0.1", srv.port), timeout=30)
    start = time.monotonic()
    s.sendall(b"GET /v1/estimate?model=llama3-8b HTTP/1.1\r\nHost: x\r\n")
    out = b""
    try:
        for i in range(40):
            s.sendall(b"X-Slow: " if i == 0 else b"a")
            time.sleep(0.5)
            s.setblocking(False)
            try:
                out = s.recv(65536)
                if out or out == b"":
                    break
            except BlockingIOError:
                pass
            finally:
                s.setblocking(True)
    except OSError:
        pass
    took = time.monotonic() - start
    s.close()
    check(out.startswith(b"HTTP/1.1 4") and took < TIMEOUT_S + 2,
          f"slowloris: {out[:60]!r} after {took:.1f} s (the limit: --timeout {TIMEOUT_S})")
    print(f"hostile: a slowloris client answered {out[:12].decode(errors='replace')!r} after {took:.1f} s")
    # a request line that never ends
    out = srv.raw(b"GET /" + b"a" * 20000 + b" HTTP/1.1\r\nHost: x\r\n\r\n")
    check(out.startswith(b"HTTP/1.1 414") or out.startswith(b"HTTP/1.1 400"), f"a 20 kB request line: {out[:60]!r}")
    # 2,000 headers
    out = srv.raw(b"GET /healthz HTTP/1.1\r\n" + b"".join(b"X-%d: y\r\n" % i for i in range(2000)) + b"\r\n")
    check(out.startswith(b"HTTP/1.1 "), f"2,000 headers: {out[:60]!r}")
    # 200,000 headers (3.5 MB): cut off at 64 KiB of request line and headers
    s = socket.create_connection(("127.0.0.1", srv.port), timeout=30)
    out = b""
    try:
        s.sendall(b"GET /healthz HTTP/1.1\r\n" + b"".join(b"X-%d: y\r\n" % i for i in range(200000)) + b"\r\n")
    except OSError:
        pass  # the server stopped reading
    try:
        out = s.recv(65536)
    except OSError:
        pass
    s.close()
    check(not out.startswith(b"HTTP/1.1 200"), f"200,000 headers: {out[:60]!r}")
    status, _, _ = srv.request("GET", "/healthz")
    check(status == 200 and srv.proc.poll() is None, "the server is up after the hostile requests")
    print("hostile: paths, files, path tricks, 100 MB body, slowloris, long request line: refused; still up")


def page_and_headers(srv):
    status, headers, body = srv.request("GET", "/")
    check(status == 200 and headers.get("content-type", "").startswith("text/html"), f"GET /: {status}")
    check(b"<html" in body.lower() or b"<!doctype html" in body.lower(), "GET /: an HTML page")
    status, headers, body = srv.request("GET", "/healthz")
    check(status == 200 and json.loads(body) == {"status": "ok"}, "/healthz")
    check("access-control-allow-origin" not in headers, "no CORS header without --cors")
    status, headers, _ = srv.request("OPTIONS", "/v1/estimate", headers={"Origin": "https://x.example"})
    check(status == 405 and "access-control-allow-origin" not in headers, f"OPTIONS without --cors: {status}")


def cors():
    srv = Server("--cors", "https://grafana.example")
    try:
        status, headers, _ = srv.request("GET", "/v1/gpus")
        check(headers.get("access-control-allow-origin") == "https://grafana.example", "--cors: the origin's header")
        status, headers, _ = srv.request("OPTIONS", "/v1/estimate", headers={"Origin": "https://grafana.example"})
        check(status == 204 and "GET" in headers.get("access-control-allow-methods", ""), f"--cors preflight: {status}")
    finally:
        srv.stop()


def listen_flags():
    for flags, what in [(["--listen", "nohost:80"], "a host name"), (["--listen", "127.0.0.1:99999"], "a port over 65535"),
                        (["--max-body", "0"], "a zero body cap"), (["--threads", "0"], "no threads"),
                        (["--ctx", "8k"], "an estimate flag")]:
        out, rc = cli(["serve", *flags, "--json"] if flags[0] == "--ctx" else ["serve", *flags])
        check(rc == 2, f"serve {' '.join(flags)} ({what}): exit {rc}")


def main():
    with tempfile.TemporaryDirectory() as secret_dir:
        marker = '{"MARKER-not-to-be-read": 1, "model_type": "llama"}'
        for name in ["secret.json", "config.json"]:
            with open(os.path.join(secret_dir, name), "w") as f:
                f.write(marker)
        srv = Server("--max-body", "1MiB", "--timeout", str(TIMEOUT_S), "--threads", "4")
        try:
            page_and_headers(srv)
            parity(srv)
            errors(srv)
            hostile(srv, secret_dir)
        finally:
            code = srv.stop()
        check(code == 0, f"serve exits 0 on SIGTERM (got {code})")
        logged = [l for l in srv.log if '"GET /v1/' in l or '"POST /v1/' in l]
        check(len(logged) >= 40, f"access log: {len(logged)} lines of API requests")
        cors()
        listen_flags()
    if failures:
        print(f"{len(failures)} of {checked} checks failed")
        return 1
    print(f"all {checked} checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
