"""The share-link prediction budget: a sliding window per client address."""

from tlcore.experiments.rate_limit import SlidingWindow


def test_a_client_gets_its_limit_per_window_and_others_are_not_affected():
    budget = SlidingWindow(limit=3, window_s=60)
    assert [budget.take("a", now=t) for t in (0, 1, 2, 3)] == [True, True, True, False]
    assert budget.left("a", now=3) == 0 and budget.wait_s("a", now=3) == 57
    assert budget.take("b", now=3) and budget.left("b", now=3) == 2
    assert budget.take("a", now=60.5) and not budget.take("a", now=60.6)  # the first event left the window
    assert budget.left("a", now=61) == 1 and budget.wait_s("a", now=61) == 0  # the event at 1 s left too


def test_a_limit_of_zero_turns_it_off_without_an_error():
    off = SlidingWindow(limit=0, window_s=3600)
    assert not off.take("a", now=0) and off.left("a", now=0) == 0 and off.wait_s("a", now=0) == 3600


def test_addresses_seen_once_are_forgotten_after_a_window_but_active_ones_are_kept():
    budget = SlidingWindow(limit=2, window_s=60)
    for i in range(1000):  # a public link visited once from many addresses
        budget.take(f"10.0.{i // 256}.{i % 256}", now=i * 0.01)
    budget.take("regular", now=50)
    assert budget.keys() == 1001
    assert budget.left("someone", now=100) == 2  # asking about a new address remembers nothing
    assert budget.keys() == 1  # the sweep at 100 s dropped every address whose events left the window
    assert budget.left("regular", now=100) == 1 and budget.take("nobody", now=100)
