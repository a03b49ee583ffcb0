# PyTorch eager reference for bench/engine.ts: the same Llama-style architecture (RMSNorm, rotary in the
# rotate_half convention, attention, SwiGLU, no biases), a learner step (forward + backward + AdamW on a
# token log-prob loss) and KV-cache generation. Prints one JSON line per size.
# Usage: python3 bench/torch_ref.py '{"sizes":[{"name":"S","hidden":128,...}],"gen_steps":3,"threads":2}'
import json, math, resource, sys, time
import torch
import torch.nn.functional as F

torch.manual_seed(0)


class Block(torch.nn.Module):
    def __init__(self, H, I, nh):
        super().__init__()
        self.nh, self.D = nh, H // nh
        self.n1 = torch.nn.Parameter(torch.ones(H))
        self.n2 = torch.nn.Parameter(torch.ones(H))
        self.q = torch.nn.Linear(H, H, bias=False)
        self.k = torch.nn.Linear(H, H, bias=False)
        self.v = torch.nn.Linear(H, H, bias=False)
        self.o = torch.nn.Linear(H, H, bias=False)
        self.gate = torch.nn.Linear(H, I, bias=False)
        self.up = torch.nn.Linear(H, I, bias=False)
        self.down = torch.nn.Linear(I, H, bias=False)

    def forward(self, x, cos, sin, bias, cache=None):
        B, T, H = x.shape
        h = rms(x, self.n1)
        q = self.q(h).view(B, T, self.nh, self.D).transpose(1, 2)  # (B, nh, T, D)
        k = self.k(h).view(B, T, self.nh, self.D).transpose(1, 2)
        v = self.v(h).view(B, T, self.nh, self.D).transpose(1, 2)
        q, k = q * cos + rotate_half(q) * sin, k * cos + rotate_half(k) * sin
        if cache is not None:
            if cache[0] is not None:
                k, v = torch.cat([cache[0], k], 2), torch.cat([cache[1], v], 2)
            cache[0], cache[1] = k, v
        att = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(self.D) + bias, -1)
        x = x + self.o((att @ v).transpose(1, 2).reshape(B, T, H))
        h = rms(x, self.n2)
        return x + self.down(F.silu(self.gate(h)) * self.up(h))


def rms(x, w, eps=1e-6):
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) * w


def rotate_half(x):
    h = x.shape[-1] // 2
    return torch.cat([-x[..., h:], x[..., :h]], -1)


class Model(torch.nn.Module):
    def __init__(self, V, H, I, L, nh):
        super().__init__()
        self.D = H // nh
        self.emb = torch.nn.Embedding(V, H)
        self.blocks = torch.nn.ModuleList([Block(H, I, nh) for _ in range(L)])
        self.norm = torch.nn.Parameter(torch.ones(H))
        self.head = torch.nn.Linear(H, V, bias=False)
        for p in self.parameters():
            if p.dim() == 2:
                torch.nn.init.normal_(p, std=0.02)

    def rope(self, pos):  # pos (T,) -> (1, 1, T, D)
        inv = 1.0 / (10000 ** (torch.arange(0, self.D, 2).float() / self.D))
        ang = pos.float()[:, None] * inv[None, :]
        emb = torch.cat([ang, ang], -1)
        return emb.cos()[None, None], emb.sin()[None, None]

    def forward(self, ids, past=0, caches=None):
        B, T = ids.shape
        cos, sin = self.rope(torch.arange(past, past + T))
        bias = torch.full((T, past + T), -1e9).triu(past + 1)[None, None]
        x = self.emb(ids)
        for i, b in enumerate(self.blocks):
            x = b(x, cos, sin, bias, None if caches is None else caches[i])
        return self.head(rms(x, self.norm))


def run(s, gen_steps):
    steps = s['steps']
    V, H, L, nh, T, B = s['vocab'], s['hidden'], s['layers'], s['heads'], s['seq'], s['batch']
    m = Model(V, H, s['intermediate'], L, nh)
    opt = torch.optim.AdamW(m.parameters(), lr=1e-3, weight_decay=0.01)
    ids = torch.randint(0, V, (B, T + 1))
    x, y = ids[:, :-1], ids[:, 1:]

    def step():
        opt.zero_grad()
        lp = torch.log_softmax(m(x), -1).gather(-1, y[..., None])[..., 0]
        loss = -lp.mean()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(m.parameters(), 1.0)
        opt.step()
        return loss.item()

    step()
    t0 = time.perf_counter()
    for _ in range(steps):
        step()
    learn = (time.perf_counter() - t0) / steps
    P, N = s['prompt'], s['new_tokens']
    with torch.no_grad():
        def generate(n):
            caches = [[None, None] for _ in range(L)]
            tok = torch.randint(0, V, (B, P))
            logits = m(tok, 0, caches)[:, -1]
            for i in range(n):
                p = torch.softmax(logits, -1)
                nxt = torch.multinomial(p, 1)  # (B, 1)
                if i == n - 1:
                    break
                logits = m(nxt, P + i, caches)[:, -1]
        generate(4)
        t0 = time.perf_counter()
        for _ in range(gen_steps):
            generate(N)
        gen = (time.perf_counter() - t0) / gen_steps
    return {
        'name': s['name'], 'learner_step_s': learn, 'learner_tokens_per_s': B * T / learn,
        'generate_s': gen, 'generate_tokens_per_s': B * N / gen,
        'peak_rss_mb': resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        'torch': torch.__version__, 'threads': torch.get_num_threads(),
    }


if __name__ == '__main__':
    cfg = json.loads(sys.argv[1])
    torch.set_num_threads(int(cfg.get('threads', 2)))
    for s in cfg['sizes']:
        print(json.dumps(run(s, cfg['gen_steps'])), flush=True)
