"""python -m claa_worker MODULE:FUNCTION: serve one scoring function (claa starts this itself)."""

import importlib
import json
import os
import sys


def protocol_channel():
    """stdout for the protocol only: fd 1 is moved aside and print() goes to stderr."""
    fd = os.dup(1)
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    return os.fdopen(fd, "w", buffering=1)


def main():
    channel = protocol_channel()
    try:
        if len(sys.argv) != 2 or sys.argv[1].count(":") != 1:
            raise ValueError("usage: python -m claa_worker MODULE:FUNCTION")
        module_name, function = sys.argv[1].split(":")
        module = importlib.import_module(module_name)
        if not hasattr(module, function):
            raise AttributeError(f"module '{module_name}' has no function '{function}'")
        fn = getattr(module, function)
    except Exception as e:
        channel.write(json.dumps({"error": " ".join(f"{type(e).__name__}: {e}".split())}) + "\n")
        channel.flush()
        sys.exit(1)
    from claa_worker.protocol import serve

    serve(fn, channel=channel)


if __name__ == "__main__":
    main()
