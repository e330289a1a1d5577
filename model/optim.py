"""First-order optimizers that update ``params`` in place from ``grads``, and L-BFGS via scipy.

Each optimizer takes two dicts with identical keys and shapes (a network's ``params`` and ``grads``,
or the one-entry flat views ``{"theta": net.theta}`` / ``{"theta": net.grad_theta}``: the update is
element-wise, so both give the same numbers; the flat one does it in a single call).
"""

import numpy as np
from scipy.optimize import minimize


class Optimizer:
    def __init__(self, params, grads, lr):
        if set(params) != set(grads):
            raise ValueError(f"params and grads must have the same keys, got {sorted(params)} and {sorted(grads)}")
        if not (np.isfinite(lr) and lr > 0):
            raise ValueError(f"learning rate must be a finite number > 0, got {lr}")
        self.params, self.grads, self.lr = params, grads, float(lr)

    def step(self):
        raise NotImplementedError


class SGD(Optimizer):
    """The seed's update ``θ ← θ − α ∇θ ℓ``, optionally with (Nesterov) momentum.

    Momentum follows PyTorch: ``v ← μ v + g``; ``θ ← θ − α v`` (or ``θ ← θ − α (g + μ v)`` with
    Nesterov).
    """

    def __init__(self, params, grads, lr=0.1, momentum=0.0, nesterov=False):
        super().__init__(params, grads, lr)
        if not 0 <= momentum < 1:
            raise ValueError(f"momentum must be in [0, 1), got {momentum}")
        if nesterov and momentum == 0:
            raise ValueError("Nesterov momentum needs momentum > 0")
        self.momentum, self.nesterov = float(momentum), bool(nesterov)
        self.velocity = {k: np.zeros_like(p) for k, p in params.items()} if momentum else None
        self._buf = {k: np.empty_like(p) for k, p in params.items()}

    def step(self):
        lr, mu = self.lr, self.momentum
        for k, p in self.params.items():
            g, buf = self.grads[k], self._buf[k]
            if mu:
                v = self.velocity[k]
                v *= mu
                v += g
                if self.nesterov:
                    np.multiply(v, mu, out=buf)
                    buf += g
                    g = buf
                else:
                    g = v
            np.multiply(g, lr, out=buf)
            p -= buf


class Adam(Optimizer):
    """Adam (Kingma & Ba): bias-corrected running means of ``g`` and ``g²``."""

    def __init__(self, params, grads, lr=0.01, beta1=0.9, beta2=0.999, eps=1e-8):
        super().__init__(params, grads, lr)
        self.beta1, self.beta2, self.eps, self.t = beta1, beta2, eps, 0
        self.m = {k: np.zeros_like(p) for k, p in params.items()}
        self.v = {k: np.zeros_like(p) for k, p in params.items()}

    def step(self):
        self.t += 1
        b1, b2 = self.beta1, self.beta2
        step = self.lr * np.sqrt(1 - b2**self.t) / (1 - b1**self.t)
        for k, p in self.params.items():
            g, m, v = self.grads[k], self.m[k], self.v[k]
            m *= b1
            m += (1 - b1) * g
            v *= b2
            v += (1 - b2) * g * g
            p -= step * m / (np.sqrt(v) + self.eps)


def make_optimizer(name, params, grads, lr):
    """``"sgd"``, ``"momentum"`` (μ = 0.9), ``"nesterov"`` or ``"adam"``."""
    if name == "sgd":
        return SGD(params, grads, lr)
    if name == "momentum":
        return SGD(params, grads, lr, momentum=0.9)
    if name == "nesterov":
        return SGD(params, grads, lr, momentum=0.9, nesterov=True)
    if name == "adam":
        return Adam(params, grads, lr)
    raise ValueError(f"unknown optimizer {name!r}; choose sgd, momentum, nesterov, adam or lbfgs")


def lbfgs(net, X, y, max_iter=200, callback=None, standardize=True):
    """Minimise ``net.loss`` over all parameters with scipy's L-BFGS-B, using ``net.backward``.

    Works on the flat vector ``net.theta`` (in float64 for scipy) and leaves the optimum in the
    network. ``callback(iteration)`` is called after each iteration with the parameters in place.

    Returns
    -------
    scipy.optimize.OptimizeResult
    """
    X, y = net.check_Xy(X, y)

    def loss_and_grad(theta):
        net.theta[...] = theta
        value = net.loss(X, y, check_input=False, standardize=standardize)
        net.backward(input_grad=False)
        return value, net.grad_theta.astype(np.float64)

    it = [0]

    def on_iteration(theta):
        it[0] += 1
        net.theta[...] = theta
        if callback is not None:
            callback(it[0])

    result = minimize(loss_and_grad, net.theta.astype(np.float64), jac=True, method="L-BFGS-B",
                      callback=on_iteration, options={"maxiter": int(max_iter)})
    net.theta[...] = result.x
    return result
