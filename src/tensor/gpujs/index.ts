// placeholder: the gpujs backend (matmul, LoRA matmul, elementwise on gpu.js; the rest falls through to cpu)
export {};
