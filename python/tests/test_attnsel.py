"""attnsel's Python module: scikit-learn's estimator checks, pipelines, pickling, errors, threads,
and the Selective Attention kernels against numpy references."""
import pickle
import threading

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.datasets import load_breast_cancer, load_diabetes, load_digits
from sklearn.linear_model import LogisticRegression, OrthogonalMatchingPursuit
from sklearn.model_selection import GridSearchCV, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import check_estimator

import attnsel
from attnsel import SequentialAttentionSelector


def test_check_estimator():
    # Every check of scikit-learn 1.2 passes (none is skipped or expected to fail).
    check_estimator(SequentialAttentionSelector(epochs=20))


def test_python_defaults_are_the_cpp_defaults():
    import inspect

    cpp = attnsel._attnsel.SelectArgs()  # default-constructed from the C++ options
    params = inspect.signature(SequentialAttentionSelector).parameters
    for name in ("epochs", "batch_size", "learning_rate", "per_round", "input_batch_norm", "group_lasso_scale"):
        assert params[name].default == getattr(cpp, name), name
    assert list(params["hidden"].default) == list(cpp.hidden)


def test_selects_the_informative_features_in_order():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(400, 12))
    y = (2.0 * X[:, 7] - 1.5 * X[:, 2] + 0.1 * rng.normal(size=400) > 0).astype(int)
    sel = SequentialAttentionSelector(2, random_state=0).fit(X, y)
    assert set(sel.selected_features_) == {7, 2}
    assert sel.transform(X).shape == (400, 2)
    assert list(sel.get_support(indices=True)) == sorted(sel.selected_features_)
    assert sel.n_features_in_ == 12
    assert list(sel.classes_) == [0, 1]
    assert sel.features_from_training_ == 2
    assert len(sel.losses_) == 60


def test_omp_matches_scikit_learn():
    X, y = load_diabetes(return_X_y=True)
    ours = SequentialAttentionSelector(5, method="omp", task="regression").fit(X, y)  # integral y: say so
    theirs = OrthogonalMatchingPursuit(n_nonzero_coefs=5).fit(X, y)
    assert set(ours.selected_features_) == set(np.flatnonzero(theirs.coef_))


@pytest.mark.parametrize("method", ["lasso", "lly", "sequential_lasso", "group_lasso", "gradient_omp"])
def test_every_method_runs(method):
    X, y = load_breast_cancer(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    sel = SequentialAttentionSelector(4, method=method, epochs=5, random_state=1).fit(X, y)
    assert len(set(sel.selected_features_)) == 4
    assert sel.method_ != ""


def test_regression_and_float32():
    X, y = load_diabetes(return_X_y=True)
    sel = SequentialAttentionSelector(3, epochs=10, task="regression", random_state=0).fit(X.astype(np.float32), y)
    assert not hasattr(sel, "classes_")
    assert sel.transform(X.astype(np.float32)).dtype == np.float32
    assert sel.transform(X).dtype == np.float64
    continuous = y + 0.5 * np.sin(np.arange(len(y)))  # type_of_target: continuous
    assert not hasattr(SequentialAttentionSelector(3, epochs=2, random_state=0).fit(X, continuous), "classes_")


def test_task_auto_follows_type_of_target():
    X, y = load_digits(return_X_y=True)
    # Float-coded integral labels (after pandas or IDX loading) are classes, as type_of_target says.
    sel = SequentialAttentionSelector(3, epochs=2, random_state=0).fit(X, y.astype(float))
    assert list(sel.classes_) == list(np.arange(10, dtype=float))
    # A refit on a regression target removes classes_.
    sel.set_params(task="regression").fit(X, y.astype(float))
    assert not hasattr(sel, "classes_")
    sel.set_params(task="auto").fit(X, y + 0.25 * np.cos(np.arange(len(y))))
    assert not hasattr(sel, "classes_")
    with pytest.raises(ValueError, match="Unknown label type: y is a 'unknown' target"):
        SequentialAttentionSelector(3, epochs=2).fit(X, np.array([{"a": 1}] * len(y), dtype=object))


def test_n_features_to_select_fractions_and_bools():
    X, y = load_breast_cancer(return_X_y=True)  # 30 features
    X = StandardScaler().fit_transform(X)
    for fraction, want in ((0.1, 3), (0.35, 10), (0.99, 29), (1.0, 30)):  # int(30 * f), not round()
        sel = SequentialAttentionSelector(fraction, method="omp").fit(X, y)
        assert len(sel.selected_features_) == want, (fraction, want)
    assert int(30 * 0.99) != round(30 * 0.99)  # the two roundings differ at 0.99
    for k in (True, False, np.bool_(True)):
        with pytest.raises(ValueError, match="n_features_to_select must be"):
            SequentialAttentionSelector(k, method="omp").fit(X, y)
    with pytest.raises(ValueError, match="keeps at least one"):
        SequentialAttentionSelector(0.01, method="omp").fit(X, y)


def test_threadpoolctl_limits_the_openmp_threads():
    import threadpoolctl
    assert callable(attnsel.max_threads)
    with threadpoolctl.threadpool_limits(2):
        assert attnsel.max_threads() == 2
        with threadpoolctl.threadpool_limits(1):
            assert attnsel.max_threads() == 1
            X, y = load_digits(return_X_y=True)
            assert len(SequentialAttentionSelector(2, epochs=1, random_state=0).fit(X, y).selected_features_) == 2
        assert attnsel.max_threads() == 2
    assert isinstance(attnsel.simd_arch(), str) and attnsel.simd_arch() != ""


def test_simd_arch_follows_attnsel_isa_on_x86_64():
    # The compiled library picks its kernels when first used; ATTNSEL_ISA caps the choice. Each
    # value needs a fresh process (the choice is made once).
    import os
    import platform
    import subprocess
    import sys

    def arch(cap):
        env = dict(os.environ)
        env.pop("ATTNSEL_ISA", None)
        if cap:
            env["ATTNSEL_ISA"] = cap
        code = "import attnsel; print(attnsel.simd_arch())"
        return subprocess.run([sys.executable, "-c", code], env=env, check=True, stdout=subprocess.PIPE,
                              universal_newlines=True).stdout.strip()

    best = arch(None)
    assert best == attnsel.simd_arch() or os.environ.get("ATTNSEL_ISA")
    if platform.machine() in ("x86_64", "AMD64"):
        assert best in ("sse2", "avx2", "avx512")
        assert arch("sse2") == "sse2"
        assert arch("avx2") == ("avx2" if best in ("avx2", "avx512") else "sse2")
    else:  # no runtime dispatch: the build's own instruction set, whatever the variable says
        assert arch("sse2") == best


def test_arrays_the_extension_takes():
    rng = np.random.default_rng(3)
    Q = rng.normal(size=(5, 4))
    # The kernels take C-contiguous float32 / float64 only; anything else is a TypeError.
    strided = np.repeat(Q, 2, axis=1)[:, ::2]  # Q's values, every other column of a wider array
    assert not strided.flags.c_contiguous and np.array_equal(strided, Q)
    for bad in (np.asfortranarray(Q), Q.astype(np.float16), strided, Q.astype(np.int64)):
        with pytest.raises(TypeError):
            attnsel.selective_attention(bad, Q, Q, heads=1)
    # select() converts anything else to C-contiguous float64 (the estimator never relies on it).
    X, y = load_digits(return_X_y=True)
    args = attnsel._attnsel.SelectArgs()
    args.method, args.k, args.task = "omp", 2, "regression"
    a = attnsel._attnsel.select(np.asfortranarray(X.astype(np.float64)), (y % 2).astype(np.float64), args)
    b = attnsel._attnsel.select(np.ascontiguousarray(X.astype(np.float64)), (y % 2).astype(np.float64), args)
    assert list(a["features"]) == list(b["features"])


def test_same_seed_same_selection_and_pickle_and_clone():
    X, y = load_digits(return_X_y=True)
    a = SequentialAttentionSelector(6, epochs=5, random_state=3).fit(X, y)
    b = SequentialAttentionSelector(6, epochs=5, random_state=3).fit(X, y)
    assert list(a.selected_features_) == list(b.selected_features_)
    c = pickle.loads(pickle.dumps(a))
    assert list(c.selected_features_) == list(a.selected_features_)
    np.testing.assert_array_equal(c.transform(X), a.transform(X))
    d = clone(a).fit(X, y)
    assert list(d.selected_features_) == list(a.selected_features_)


def test_pipeline_cross_val_and_grid_search():
    X, y = load_breast_cancer(return_X_y=True)
    pipe = make_pipeline(StandardScaler(), SequentialAttentionSelector(5, epochs=10, random_state=0),
                         LogisticRegression(max_iter=500))
    scores = cross_val_score(pipe, X, y, cv=3)
    assert scores.mean() > 0.85
    grid = GridSearchCV(pipe, {"sequentialattentionselector__n_features_to_select": [2, 6]}, cv=3).fit(X, y)
    assert grid.best_params_["sequentialattentionselector__n_features_to_select"] in (2, 6)


def test_feature_names_from_pandas_columns():
    data = load_breast_cancer(as_frame=True)
    X, y = data.data, data.target  # a pandas DataFrame and Series
    assert isinstance(X, pd.DataFrame)
    sel = SequentialAttentionSelector(3, epochs=5, random_state=0).fit(X, y)
    assert list(sel.feature_names_in_) == list(X.columns)
    assert list(sel.selected_feature_names_) == [X.columns[i] for i in sel.selected_features_]
    assert set(sel.get_feature_names_out()) == set(sel.selected_feature_names_)
    # The same data as a numpy array selects the same features (the frame crosses as float64).
    plain = SequentialAttentionSelector(3, epochs=5, random_state=0).fit(X.to_numpy(), y.to_numpy())
    assert list(plain.selected_features_) == list(sel.selected_features_)
    # transform keeps the names when scikit-learn is asked for pandas output.
    out = sel.set_output(transform="pandas").transform(X)
    assert isinstance(out, pd.DataFrame)
    assert set(out.columns) == set(sel.selected_feature_names_)
    # A frame with other column names is refused, as scikit-learn's own estimators do.
    with pytest.raises(ValueError, match="feature names"):
        sel.transform(X.rename(columns=lambda c: c + " (renamed)"))


def test_bad_input_raises_value_error_with_the_message():
    X, y = load_digits(return_X_y=True)
    with pytest.raises(ValueError, match=r"n_features_to_select is 65, expected a value in \[1, 64\]"):
        SequentialAttentionSelector(65).fit(X, y)
    with pytest.raises(ValueError, match="method must be one of"):
        SequentialAttentionSelector(3, method="magic").fit(X, y)
    Xn = X.astype(float)
    Xn[3, 4] = np.nan
    with pytest.raises(ValueError):
        SequentialAttentionSelector(3).fit(Xn, y)
    # A C++ check surfaces as ValueError with attnsel's own message.
    with pytest.raises(ValueError, match="attnsel::SequentialAttentionSelector::fit: option 'epochs' is 0"):
        SequentialAttentionSelector(3, epochs=0).fit(X, y)
    with pytest.raises(ValueError, match="linear-regression method"):
        SequentialAttentionSelector(3, method="omp").fit(X, y)
    with pytest.raises(TypeError):
        attnsel._attnsel.select("not an array", y, attnsel._attnsel.SelectArgs())


def test_two_threads_fit_at_once():
    X, y = load_digits(return_X_y=True)
    want = SequentialAttentionSelector(4, epochs=8, random_state=5).fit(X, y).selected_features_
    got = [None, None]

    def run(i):
        got[i] = SequentialAttentionSelector(4, epochs=8, random_state=5).fit(X, y).selected_features_

    threads = [threading.Thread(target=run, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for g in got:
        assert list(g) == list(want)


def causal_attention(Q, K, V, heads, F=None):
    n, hd = Q.shape
    d = hd // heads
    out = np.zeros_like(Q)
    mask = np.tril(np.ones((n, n), dtype=bool))
    for h in range(heads):
        s = Q[:, h * d:(h + 1) * d] @ K[:, h * d:(h + 1) * d].T / np.sqrt(d)
        if F is not None:
            s = s - F
        s = np.where(mask, s, -np.inf)
        p = np.exp(s - s.max(axis=1, keepdims=True))
        p /= p.sum(axis=1, keepdims=True)
        out[:, h * d:(h + 1) * d] = p @ V[:, h * d:(h + 1) * d]
    return out


def selective_F(Q, K, heads):
    # Head 0's ReLU'd logits, shifted one query down, summed along the queries; no masking of
    # BOS (token 0) nor of a token by itself.
    n, hd = Q.shape
    d = hd // heads
    S = np.maximum(Q[:, :d] @ K[:, :d].T / np.sqrt(d), 0.0)
    S = np.tril(S, -1)
    S[:, 0] = 0.0
    F = np.zeros_like(S)
    F[1:] = np.cumsum(S, axis=0)[:-1]
    return F


def test_selective_attention_matches_numpy():
    rng = np.random.default_rng(1)
    n, heads, d = 9, 2, 4
    Q, K, V = (rng.normal(size=(n, heads * d)) for _ in range(3))
    plain = attnsel.selective_attention(Q, K, V, heads=heads, selective=False)
    np.testing.assert_allclose(plain, causal_attention(Q, K, V, heads), rtol=1e-10, atol=1e-12)
    sel = attnsel.selective_attention(Q, K, V, heads=heads)
    np.testing.assert_allclose(sel, causal_attention(Q, K, V, heads, selective_F(Q, K, heads)), rtol=1e-10, atol=1e-12)
    f32 = attnsel.selective_attention(*(a.astype(np.float32) for a in (Q, K, V)), heads=heads)
    assert f32.dtype == np.float32
    np.testing.assert_allclose(f32, sel, rtol=1e-4, atol=1e-5)
    with pytest.raises(ValueError):
        attnsel.selective_attention(Q, K[:-1], V, heads=heads)


def test_selective_attention_backward_matches_central_differences():
    rng = np.random.default_rng(2)
    n, heads, d = 6, 2, 3
    Q, K, V = (rng.normal(size=(n, heads * d)) for _ in range(3))
    R = rng.normal(size=(n, heads * d))
    dQ, dK, dV = attnsel.selective_attention_backward(Q, K, V, R, heads=heads)

    def loss(q, k, v):
        return float(np.sum(attnsel.selective_attention(q, k, v, heads=heads) * R))

    h = 1e-6
    for A, G, which in ((Q, dQ, 0), (K, dK, 1), (V, dV, 2)):
        num = np.zeros_like(A)
        for i in range(A.shape[0]):
            for j in range(A.shape[1]):
                args = [Q.copy(), K.copy(), V.copy()]
                args[which][i, j] += h
                up = loss(*args)
                args[which][i, j] -= 2 * h
                num[i, j] = (up - loss(*args)) / (2 * h)
        np.testing.assert_allclose(G, num, rtol=1e-5, atol=1e-7)


def test_kv_cache_decodes_like_full_attention_and_keeps_its_budget():
    rng = np.random.default_rng(3)
    n, heads, d = 20, 2, 4
    Q, K, V = (rng.normal(size=(n, heads * d)) for _ in range(3))
    full = attnsel.selective_attention(Q, K, V, heads=heads)
    cache = attnsel.KVCacheSelective(heads=heads, head_dim=d)
    for t in range(n):
        out = cache.decode_step(Q[t], K[t], V[t])
    np.testing.assert_allclose(out, full[-1], rtol=1e-9, atol=1e-12)
    assert cache.size == n and cache.tokens_seen == n
    small = attnsel.KVCacheSelective(heads=heads, head_dim=d, budget=5)
    small.prefill(Q, K, V)
    assert small.size == 5 and small.evicted == n - 5
    assert small.nbytes == 5 * heads * 2 * d * 8
    h2o = attnsel.KVCacheH2O32(heads=heads, head_dim=d, budget=4)
    for t in range(n):
        h2o.decode_step(Q[t].astype(np.float32), K[t].astype(np.float32), V[t].astype(np.float32))
    assert h2o.size == 4
    with pytest.raises(ValueError):
        attnsel.KVCacheSelective(heads=heads, head_dim=d, budget=1)


def test_kv_cache_policies_and_their_options():
    rng = np.random.default_rng(4)
    n, heads, d = 20, 2, 4
    Q, K, V = (rng.normal(size=(n, heads * d)) for _ in range(3))
    caches = {
        "selective": attnsel.KVCacheSelective(heads=heads, head_dim=d, budget=5, threshold=1e9),
        "h2o": attnsel.KVCacheH2O(heads=heads, head_dim=d, budget=5, recent=2),
        "streaming": attnsel.KVCacheStreamingLLM(heads=heads, head_dim=d, budget=5, sinks=1),
        "tova": attnsel.KVCacheTOVA(heads=heads, head_dim=d, budget=5),
        "knorm": attnsel.KVCacheKNorm(heads=heads, head_dim=d, budget=5),
        "tova32": attnsel.KVCacheTOVA32(heads=heads, head_dim=d, budget=5),
    }
    for name, cache in caches.items():
        Qc, Kc, Vc = (x.astype(np.float32) for x in (Q, K, V)) if name.endswith("32") else (Q, K, V)
        out = cache.prefill(Qc, Kc, Vc)
        assert out.shape == (n, heads * d) and np.isfinite(out).all()
        assert cache.size == 5 and cache.evicted == n - 5
        assert cache.policy == name.removesuffix("32")
    # StreamingLLM with one sink: BOS and the four most recent tokens.
    assert sorted(caches["streaming"].positions()) == [0, 16, 17, 18, 19]
    # Budget 2 with four sinks: the sinks shrink to none, the previous token stays.
    tight = attnsel.KVCacheStreamingLLM(heads=heads, head_dim=d, budget=2, sinks=4)
    tight.prefill(Q, K, V)
    assert sorted(tight.positions()) == [n - 2, n - 1]
    with pytest.raises(ValueError, match="sinks"):
        attnsel.KVCacheStreamingLLM(heads=heads, head_dim=d, sinks=-1)
    with pytest.raises(ValueError, match="recent"):
        attnsel.KVCacheH2O(heads=heads, head_dim=d, recent=-3)
    with pytest.raises(ValueError, match="budget"):
        attnsel.KVCacheKNorm(heads=heads, head_dim=d, budget=1)
