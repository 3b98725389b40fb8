"""Automatic splits keep exact duplicates together, so a copied item can never be in train and test."""

import numpy as np

from tlcore.data import Dataset, build_report, make_split
from tlcore.data.split import keep_duplicates_together


def test_every_copy_follows_the_first():
    parts = [np.array([0, 3]), np.array([1]), np.array([2, 4])]
    hashes = ["a", "b", "a", "c", "b"]  # item 2 copies item 0 (train); item 4 copies item 1 (val)
    train, val, test = keep_duplicates_together(parts, hashes)
    assert train.tolist() == [0, 2, 3] and val.tolist() == [1, 4] and test.tolist() == []


def test_split_of_a_dataset_with_many_duplicates_has_no_leakage():
    n = 60
    texts = [f"text {i % 20}" for i in range(n)]  # every text appears three times
    ds = Dataset(name="dups", modality="text", items=texts, labels=[i % 20 % 2 for i in range(n)],
                 classes=["a", "b"], item_names=[f"row {i}" for i in range(n)],
                 item_hashes=[t for t in texts])
    for seed in range(5):
        split = make_split(ds, seed=seed)
        assert sorted(np.concatenate([split.train, split.val, split.test]).tolist()) == list(range(n))
        assert build_report(ds, split).leakage == []
