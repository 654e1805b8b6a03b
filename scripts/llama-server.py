"""Serve a GGUF model over llama.cpp's OpenAI-compatible HTTP API (/v1/chat/completions, /health).

xllamacpp ships llama.cpp's server as a Python extension with no command of its own; this is that command.
It prints one JSON line, {"url": ..., "pid": ...}, once the model is loaded and the port answers, then serves
until SIGINT/SIGTERM (or, with --stop-on-stdin-eof, until its parent closes stdin, so a crashed parent never
leaves a server behind).

    python scripts/llama-server.py --model gemma-3-270m-q4_k_m.gguf --port 8080 --ctx-size 1024 --threads 2
"""

import argparse
import json
import os
import signal
import sys
import threading

import xllamacpp as xlc


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", required=True, help="path of the GGUF file")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8080, help="port to listen on; 0 picks a free one (default 8080)")
    p.add_argument("--ctx-size", type=int, default=1024, help="context size in tokens per slot (default 1024)")
    p.add_argument("--threads", type=int, default=2, help="CPU threads for generation and prompt processing (default 2)")
    p.add_argument("--parallel", type=int, default=1, help="requests served at once (slots; default 1)")
    p.add_argument("--alias", help="model name reported by /v1/models and in responses (default: the file name)")
    p.add_argument("--chat-template-file", help="Jinja chat template, for GGUF files that carry none")
    p.add_argument("--cache-prompt", action="store_true", help="reuse the KV cache of earlier prompts (faster; results may differ in the last digits)")
    p.add_argument("--verbosity", type=int, default=1, help="llama.cpp log verbosity on stderr (default 1)")
    p.add_argument("--stop-on-stdin-eof", action="store_true", help="exit when stdin closes (for supervisors)")
    return p.parse_args(argv)


def make_params(args):
    params = xlc.CommonParams()
    params.model.path = args.model
    params.hostnames = [args.host]
    params.port = args.port
    params.n_ctx = args.ctx_size * args.parallel
    params.n_parallel = args.parallel
    params.cpuparams.n_threads = args.threads
    params.cpuparams_batch.n_threads = args.threads
    params.model_alias = {args.alias or os.path.splitext(os.path.basename(args.model))[0]}
    params.verbosity = args.verbosity
    # Off by default: an evaluation wants the same answer for the same prompt whatever came before it.
    params.cache_prompt = args.cache_prompt
    if args.chat_template_file:
        with open(args.chat_template_file, encoding="utf-8") as f:
            params.use_jinja = True
            params.chat_template = f.read()
    return params


def main(argv):
    args = parse_args(argv)
    if not os.path.isfile(args.model):
        print(f"llama-server: --model {args.model}: no such file", file=sys.stderr)
        return 2
    done = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: done.set())
    if args.stop_on_stdin_eof:
        threading.Thread(target=lambda: (sys.stdin.read(), done.set()), daemon=True).start()
    server = xlc.Server(make_params(args))
    print(json.dumps({"url": server.listening_address, "pid": os.getpid()}), flush=True)
    while not done.wait(1.0):
        pass
    del server
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
