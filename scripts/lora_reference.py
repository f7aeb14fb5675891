"""Writes the PyTorch fixture the LoRA matmul kernels are checked against.

    /usr/bin/python3 scripts/lora_reference.py

(Debian's python3-torch lives in /usr/bin/python3.) Output: test/fixtures/lora_reference.json,
one case written as PEFT's LoRA Linear computes it (peft/tuners/lora/layer.py, Linear.forward):

    result = base_layer(x) + lora_B(lora_A(dropout(x))) * scaling

with base_layer = nn.Linear(K, N) (weight (N, K), with bias), lora_A = nn.Linear(K, r, bias=False),
lora_B = nn.Linear(r, N, bias=False), dropout = nn.Identity (p = 0), scaling = 2.0, and B != 0
(PEFT initializes B to zero; a zero B would hide every error in the LoRA branch). torch
autograd gives dx, dA (lora_A.weight.grad, (r, K)) and dB (lora_B.weight.grad, (N, r)) for a
given dy. Values are float32, stored as lists; W is stored in torch's (N, K) layout.
"""
import json
import os

import torch

torch.manual_seed(0)
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'test', 'fixtures', 'lora_reference.json')
M, K, N, R, SCALING = 5, 7, 6, 3, 2.0


def flat(t):
    return [float(v) for v in t.detach().reshape(-1).tolist()]


def main():
    base = torch.nn.Linear(K, N)
    lora_a = torch.nn.Linear(K, R, bias=False)
    lora_b = torch.nn.Linear(R, N, bias=False)
    with torch.no_grad():
        lora_b.weight.uniform_(-1.0, 1.0)  # B != 0
    dropout = torch.nn.Identity()
    x = (torch.rand(M, K) * 4 - 2).requires_grad_()
    dy = torch.rand(M, N) * 4 - 2

    y = base(x) + lora_b(lora_a(dropout(x))) * SCALING
    y.backward(dy)

    case = dict(
        M=M, K=K, N=N, r=R, scaling=SCALING,
        x=flat(x), W_NK=flat(base.weight), bias=flat(base.bias),
        A=flat(lora_a.weight), B=flat(lora_b.weight), dy=flat(dy),
        y=flat(y), dx=flat(x.grad), dA=flat(lora_a.weight.grad), dB=flat(lora_b.weight.grad),
    )
    doc = dict(torch=torch.__version__, note='scripts/lora_reference.py; W_NK is nn.Linear.weight (N, K)', case=case)
    with open(OUT, 'w') as f:
        json.dump(doc, f, indent=1)
        f.write('\n')
    print(f'wrote {os.path.relpath(OUT)}')


if __name__ == '__main__':
    main()
