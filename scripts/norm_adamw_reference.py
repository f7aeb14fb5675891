"""Writes the PyTorch fixtures the norm and AdamW kernels are checked against.

    /usr/bin/python3 scripts/norm_adamw_reference.py

(Debian's python3-torch lives in /usr/bin/python3.) Outputs, all float32 values as lists:

test/fixtures/norm_reference.json
  layer_norm:          torch.nn.functional.layer_norm (biased variance, eps inside the sqrt),
                       forward y, mean and 1/sigma per row, autograd dx, dgamma, dbeta for a given dy.
  layer_norm_residual: the same on s = x + residual; autograd gives dx and dresidual (both equal the
                       gradient w.r.t. s, which is what the kernels return as dx).
  rms_norm:            Llama's RMSNorm written in torch ops: x * rsqrt(mean(x^2) + eps) * gamma,
                       forward y, 1/rms per row, autograd dx, dgamma.
test/fixtures/adamw_reference.json
  torch.optim.AdamW for 3 steps on a 5-element param with given grads, weight_decay 0.01, and the
  lr changed between steps (a schedule); param, exp_avg, exp_avg_sq after every step.
"""
import json
import os

import torch

torch.manual_seed(0)
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'test', 'fixtures')
ROWS, C = 3, 7


def flat(t):
    return [float(v) for v in t.detach().reshape(-1).tolist()]


def rand(*shape, lo=-2.0, hi=2.0):
    return (lo + (hi - lo) * torch.rand(*shape, dtype=torch.float32))


def layer_norm_case(eps, with_residual):
    x = rand(ROWS, C).requires_grad_()
    res = rand(ROWS, C).requires_grad_() if with_residual else None
    gamma = rand(C, lo=0.5, hi=1.5).requires_grad_()
    beta = rand(C).requires_grad_()
    dy = rand(ROWS, C)
    s = x + res if with_residual else x
    y = torch.nn.functional.layer_norm(s, (C,), gamma, beta, eps)
    y.backward(dy)
    sd = s.detach()
    mean = sd.mean(-1)
    inv_std = torch.rsqrt(sd.var(-1, unbiased=False) + eps)
    case = dict(rows=ROWS, C=C, eps=eps, x=flat(x), gamma=flat(gamma), beta=flat(beta), dy=flat(dy),
                y=flat(y), mean=flat(mean), invStd=flat(inv_std),
                dx=flat(x.grad), dgamma=flat(gamma.grad), dbeta=flat(beta.grad))
    if with_residual:
        case.update(residual=flat(res), sum=flat(sd), dresidual=flat(res.grad))
    return case


def rms_norm_case(eps):
    x = rand(ROWS, C).requires_grad_()
    gamma = rand(C, lo=0.5, hi=1.5).requires_grad_()
    dy = rand(ROWS, C)
    inv_rms = torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps)  # as LlamaRMSNorm
    y = x * inv_rms * gamma
    y.backward(dy)
    return dict(rows=ROWS, C=C, eps=eps, x=flat(x), gamma=flat(gamma), dy=flat(dy),
                y=flat(y), invStd=flat(inv_rms), dx=flat(x.grad), dgamma=flat(gamma.grad))


def adamw_case():
    n = 5
    p = torch.nn.Parameter(rand(n))
    init = flat(p)
    lrs = [0.1, 0.05, 0.02]
    betas, eps, wd = (0.9, 0.999), 1e-8, 0.01
    opt = torch.optim.AdamW([p], lr=lrs[0], betas=betas, eps=eps, weight_decay=wd)
    steps = []
    for t, lr in enumerate(lrs, start=1):
        for g in opt.param_groups:
            g['lr'] = lr
        grad = rand(n)
        p.grad = grad.clone()
        opt.step()
        st = opt.state[p]
        steps.append(dict(step=t, lr=lr, grad=flat(grad), param=flat(p),
                          m=flat(st['exp_avg']), v=flat(st['exp_avg_sq'])))
    return dict(n=n, beta1=betas[0], beta2=betas[1], eps=eps, weightDecay=wd, param0=init, steps=steps)


def write(name, doc):
    os.makedirs(OUT, exist_ok=True)
    doc = dict(generator='scripts/norm_adamw_reference.py', torch=torch.__version__, **doc)
    with open(os.path.join(OUT, name), 'w') as f:
        json.dump(doc, f, indent=1)
    print('wrote', os.path.normpath(os.path.join(OUT, name)))


write('norm_reference.json', dict(layer_norm=layer_norm_case(1e-5, False),
                                  layer_norm_residual=layer_norm_case(1e-5, True),
                                  rms_norm=rms_norm_case(1e-6)))
write('adamw_reference.json', dict(adamw=adamw_case()))
