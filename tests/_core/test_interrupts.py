"""fersk._core.interrupts: inside the block SIGTERM stops the run as Ctrl-C does; outside, and
off the main thread, nothing changes."""

from __future__ import annotations

import signal
import threading

import pytest

from fersk._core.interrupts import sigterm_as_interrupt


def test_sigterm_raises_keyboard_interrupt_inside_the_block_only():
    before = signal.getsignal(signal.SIGTERM)
    with pytest.raises(KeyboardInterrupt):
        with sigterm_as_interrupt():
            signal.raise_signal(signal.SIGTERM)
    assert signal.getsignal(signal.SIGTERM) is before


def test_off_the_main_thread_the_handler_is_left_alone():
    before = signal.getsignal(signal.SIGTERM)
    seen = []

    def run():
        with sigterm_as_interrupt():
            seen.append(signal.getsignal(signal.SIGTERM))

    worker = threading.Thread(target=run)
    worker.start()
    worker.join()
    assert seen == [before]
