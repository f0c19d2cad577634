"""``ThreadLocks``: mutual exclusion per key, and no memory kept for keys nobody holds."""

from __future__ import annotations

import threading
import time

from konflux_supply.errors import RegistryError
from konflux_supply.oci import ThreadLocks


def test_a_key_nobody_holds_leaves_nothing_behind() -> None:
    locks = ThreadLocks()
    for n in range(10_000):  # a controller writing .sig/.att for every image it sees
        with locks.hold(f"registry/app:sha256-{n}.sig", 1):
            assert locks.active() == 1
    assert locks.active() == 0


def test_one_holder_per_key_and_a_waiter_keeps_the_lock_alive() -> None:
    locks = ThreadLocks()
    inside: list[str] = []
    entered = threading.Event()
    release = threading.Event()

    def first() -> None:
        with locks.hold("k", 5):
            inside.append("first in")
            entered.set()
            release.wait(5)
            inside.append("first out")

    def second() -> None:
        entered.wait(5)
        with locks.hold("k", 5):  # waits on the same lock object, not a fresh one
            inside.append("second in")

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    entered.wait(5)
    time.sleep(0.05)  # let the second thread start waiting
    release.set()
    for thread in threads:
        thread.join(5)
    assert inside == ["first in", "first out", "second in"]
    assert locks.active() == 0


def test_a_timed_out_waiter_leaves_nothing_behind() -> None:
    locks = ThreadLocks()
    errors: list[RegistryError] = []

    def wait() -> None:
        try:
            with locks.hold("k", 0.05):
                pass
        except RegistryError as error:
            errors.append(error)

    with locks.hold("k", 1):
        thread = threading.Thread(target=wait)
        thread.start()
        thread.join(5)
    assert len(errors) == 1
    assert "timed out" in str(errors[0])
    assert locks.active() == 0
