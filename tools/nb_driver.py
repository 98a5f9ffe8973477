#!/usr/bin/python3
"""Execute a Jupyter notebook cell by cell on a real kernel, losing no output.

Driven by tools/notebook_runner.ts (run with /usr/bin/python3, which has the
Debian jupyter_client and nbformat packages).

Why not `jupyter nbconvert --execute`: Deno's kernel can publish a cell's
stream output AFTER it reports `idle`, and nbclient stops listening for a
cell at `idle`, so such output is dropped. Here every iopub message is routed
to the cell whose execute request it answers (by parent msg_id) for the whole
run, and each cell is only left once its `execute_reply` and `idle` have
arrived AND the iopub channel has been quiet for `--quiet` seconds.

Outputs follow the Jupyter messaging spec: consecutive `stream` chunks of the
same name are merged, `update_display_data` replaces the outputs carrying the
same `display_id` in place (progress bars), `clear_output` (with `wait`)
clears the cell's outputs (at the next output), `execute_result`,
`display_data` and `error` are appended.

The environment (HAR_SCALE, HAR_FIGURES_DIR, ...) is passed to the kernel.
On a failing cell execution stops, the partial notebook is saved, and the
exit status is 1. The last line of stdout is a JSON summary:
  {"status": "ok"|"error"|"timeout"|"dead"|"startup", "cells": N,
   "executed": n, "cell": index, "ename", "evalue", "traceback", "seconds"}
Progress goes to stderr.
"""

import argparse
import json
import os
import queue
import sys
import time

import jupyter_client
import nbformat
from nbformat.v4 import new_output


def log(msg):
    print(msg, file=sys.stderr, flush=True)


class CellState:
    """Outputs being collected for one code cell."""

    def __init__(self, index, cell):
        self.index = index
        self.cell = cell
        self.clear_pending = False
        self.idle = False

    def _before_output(self):
        if self.clear_pending:
            self.cell.outputs = []
            self.clear_pending = False

    def append(self, out):
        self._before_output()
        self.cell.outputs.append(out)
        return out

    def stream(self, name, text):
        self._before_output()
        outs = self.cell.outputs
        if outs and outs[-1].get("output_type") == "stream" and outs[-1].get("name") == name:
            outs[-1]["text"] += text
        else:
            outs.append(new_output("stream", name=name, text=text))


class Driver:
    def __init__(self, args):
        self.args = args
        self.by_msg = {}  # parent msg_id -> CellState
        self.displays = {}  # display_id -> [output dicts]
        self.current = None
        self.last_iopub = time.monotonic()

    # -- iopub -------------------------------------------------------------
    def handle(self, msg):
        self.last_iopub = time.monotonic()
        parent = msg.get("parent_header", {}).get("msg_id")
        kind = msg["msg_type"]
        content = msg["content"]
        state = self.by_msg.get(parent)
        if kind == "status":
            if state is not None and content.get("execution_state") == "idle":
                state.idle = True
            return
        if state is None:
            # Output without a known parent (e.g. published by a timer with no
            # request context): keep it with the cell running now.
            state = self.current
            if state is None or kind in ("execute_input", "shutdown_reply"):
                return
        if kind == "execute_input":
            state.cell.execution_count = content.get("execution_count")
        elif kind == "stream":
            state.stream(content.get("name", "stdout"), content.get("text", ""))
        elif kind == "display_data":
            out = state.append(
                new_output(
                    "display_data",
                    data=content.get("data", {}),
                    metadata=content.get("metadata", {}),
                )
            )
            did = (content.get("transient") or {}).get("display_id")
            if did:
                self.displays.setdefault(did, []).append(out)
        elif kind == "update_display_data":
            did = (content.get("transient") or {}).get("display_id")
            for out in self.displays.get(did, []):
                out["data"] = content.get("data", {})
                out["metadata"] = content.get("metadata", {})
        elif kind == "execute_result":
            state.append(
                new_output(
                    "execute_result",
                    data=content.get("data", {}),
                    metadata=content.get("metadata", {}),
                    execution_count=content.get("execution_count"),
                )
            )
        elif kind == "error":
            state.append(
                new_output(
                    "error",
                    ename=content.get("ename", ""),
                    evalue=content.get("evalue", ""),
                    traceback=content.get("traceback", []),
                )
            )
        elif kind == "clear_output":
            if content.get("wait"):
                state.clear_pending = True
            else:
                state.cell.outputs = []
                state.clear_pending = False

    def pump(self, kc, timeout):
        """Handle iopub messages for up to `timeout` s; True if any arrived."""
        got = False
        try:
            msg = kc.get_iopub_msg(timeout=timeout)
        except queue.Empty:
            return False
        while True:
            self.handle(msg)
            got = True
            try:
                msg = kc.get_iopub_msg(timeout=0)
            except queue.Empty:
                return got

    def quiet_for(self, seconds):
        return time.monotonic() - self.last_iopub >= seconds

    # -- run -----------------------------------------------------------------
    def run(self):
        a = self.args
        t_start = time.monotonic()
        nb = nbformat.read(a.notebook, as_version=4)
        code_cells = [i for i, c in enumerate(nb.cells) if c.cell_type == "code"]
        summary = {"status": "ok", "cells": len(code_cells), "executed": 0}
        kernel_name = a.kernel or nb.metadata.get("kernelspec", {}).get("name") or "deno"
        km = jupyter_client.KernelManager(kernel_name=kernel_name)
        try:
            km.start_kernel(cwd=a.cwd, env=dict(os.environ))
            kc = km.client()
            kc.start_channels()
            kc.wait_for_ready(timeout=a.startup_timeout)
        except Exception as e:  # noqa: BLE001 - report any startup failure
            summary.update(status="startup", ename=type(e).__name__, evalue=str(e), traceback=[])
            self.finish(nb, summary, t_start, km, None)
            return summary
        try:
            for n, i in enumerate(code_cells):
                cell = nb.cells[i]
                cell.outputs = []
                cell.execution_count = None
                if not cell.source.strip():
                    continue
                result = self.run_cell(kc, km, i, cell)
                summary["executed"] = n + 1
                if result is not None:
                    summary.update(result)
                    summary["cell"] = i
                    break
        finally:
            self.finish(nb, summary, t_start, km, kc)
        return summary

    def run_cell(self, kc, km, i, cell):
        a = self.args
        t0 = time.monotonic()
        first_line = cell.source.strip().splitlines()[0][:60]
        log(f"[notebook] cell {i}: {first_line}")
        msg_id = kc.execute(cell.source, store_history=True, allow_stdin=False, stop_on_error=True)
        state = CellState(i, cell)
        self.by_msg[msg_id] = state
        self.current = state
        reply = None
        deadline = t0 + a.timeout
        last_alive_check = t0
        while True:
            self.pump(kc, 0.05)
            if reply is None:
                try:
                    m = kc.get_shell_msg(timeout=0)
                    if m.get("parent_header", {}).get("msg_id") == msg_id:
                        reply = m
                except queue.Empty:
                    pass
            now = time.monotonic()
            if reply is not None and state.idle and self.quiet_for(a.quiet):
                break
            if reply is None and now > deadline:
                log(f"[notebook] cell {i} exceeded {a.timeout} s: interrupting the kernel")
                km.interrupt_kernel()
                end = time.monotonic() + 2
                while time.monotonic() < end and not (state.idle and self.quiet_for(a.quiet)):
                    self.pump(kc, 0.1)
                err = {
                    "ename": "CellTimeoutError",
                    "evalue": f"cell {i} did not finish within {a.timeout} s",
                    "traceback": [],
                }
                state.append(new_output("error", **err))
                return {"status": "timeout", **err}
            if now - last_alive_check > 1.0:
                last_alive_check = now
                if not km.is_alive():
                    self.pump(kc, 0.2)
                    err = {
                        "ename": "KernelDied",
                        "evalue": f"the kernel died while running cell {i}",
                        "traceback": [],
                    }
                    state.append(new_output("error", **err))
                    return {"status": "dead", **err}
        secs = time.monotonic() - t0
        content = reply["content"]
        if content.get("status") == "error":
            log(f"[notebook] cell {i} failed after {secs:.1f} s")
            return {
                "status": "error",
                "ename": content.get("ename", ""),
                "evalue": content.get("evalue", ""),
                "traceback": content.get("traceback", []),
            }
        if content.get("status") == "aborted":
            return {"status": "error", "ename": "Aborted", "evalue": "execution aborted", "traceback": []}
        log(f"[notebook] cell {i} ok ({secs:.1f} s)")
        return None

    def finish(self, nb, summary, t_start, km, kc):
        # Last chance for straggling output, then stop the kernel.
        if kc is not None:
            end = time.monotonic() + self.args.quiet
            while time.monotonic() < end:
                if self.pump(kc, 0.05):
                    end = max(end, time.monotonic() + self.args.quiet)
            kc.stop_channels()
        try:
            if km.has_kernel:
                # A kernel stuck in a timed-out cell is killed, not asked.
                km.shutdown_kernel(now=summary["status"] in ("timeout", "dead", "startup"))
        except Exception as e:  # noqa: BLE001 - shutdown problems must not hide results
            log(f"[notebook] kernel shutdown: {e}")
        nb.metadata.setdefault("kernelspec", {"name": "deno", "display_name": "Deno", "language": "typescript"})
        tmp = f"{self.args.out}.{os.getpid()}.tmp"
        with open(tmp, "w", encoding="utf-8") as f:
            nbformat.write(nb, f)
        os.replace(tmp, self.args.out)
        summary["seconds"] = round(time.monotonic() - t_start, 3)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("notebook")
    p.add_argument("--out", required=True, help="where to write the executed notebook")
    p.add_argument("--timeout", type=float, default=1800, help="per-cell timeout (s)")
    p.add_argument("--quiet", type=float, default=0.5, help="iopub quiet period after idle (s)")
    p.add_argument("--startup-timeout", type=float, default=120, help="kernel start timeout (s)")
    p.add_argument("--cwd", default=None, help="kernel working directory")
    p.add_argument("--kernel", default=None, help="kernelspec name (default: notebook's, else deno)")
    args = p.parse_args()
    if args.cwd is None:
        args.cwd = os.path.dirname(os.path.abspath(args.notebook))
    summary = Driver(args).run()
    print(json.dumps(summary), flush=True)
    sys.exit(0 if summary["status"] == "ok" else 1)


if __name__ == "__main__":
    main()
