#!/usr/bin/env python3
"""Emulates model/cuda/column_sums.cu's index arithmetic on the CPU with the PTX fragment layouts of
mma.sync m16n8k16 (row.col A/B/C) and ldmatrix.x4, against direct column sums of a causal softmax: catches
addressing bugs in the kernel without a GPU (it cannot catch a wrong reading of the PTX layouts themselves).
Usage: ~/.venvs/ref/bin/python tools/column_sums_emulation.py  (numpy; a few seconds)"""
import numpy as np
rng = np.random.default_rng(0)

def run(H, Hkv, n, d, D):
    MT = 2 if D <= 128 else 1; KEYS = 4*16*MT; STEPS = D//16; Q = 64; STRIDE = D+8
    q = rng.standard_normal((H, n, d)).astype(np.float32)
    k = rng.standard_normal((Hkv, n, d)).astype(np.float32)
    scale = 1/np.sqrt(d)
    G = H//Hkv
    # lse per query (reference)
    lse = np.zeros((H, n))
    want = np.zeros((Hkv, n))
    for h in range(H):
        s = q[h] @ k[h//G].T * scale
        s[np.triu_indices(n, 1)] = -np.inf
        l = np.log(np.exp(s - s.max(1, keepdims=True)).sum(1)) + s.max(1)
        lse[h] = l
        want[h//G] += np.exp(s - l[:, None]).sum(0)
    sums = np.full((Hkv, n), np.nan)
    log2e = 1.4426950408889634
    for g in range(Hkv):
        for kb in range((n + KEYS - 1)//KEYS):
            j0 = kb*KEYS
            tiles = np.zeros((2, Q, STRIDE)); tlse = np.zeros((2, Q))
            def load_pair(row, col):
                if row >= n or col >= d: return (0.0, 0.0)
                return (k[g, row, col], k[g, row, col+1])
            # a[warp][lane][mt][s][reg] = pair
            a = {}
            for warp in range(4):
                key_base = j0 + warp*16*MT
                for lane in range(32):
                    for mt in range(MT):
                        for s_ in range(STEPS):
                            row = key_base + mt*16 + lane//4; col = s_*16 + 2*(lane%4)
                            a[warp, lane, mt, s_] = [load_pair(row, col), load_pair(row+8, col), load_pair(row, col+8), load_pair(row+8, col+8)]
            tph = (n - j0 + Q - 1)//Q; items = G*tph
            row_sum = np.zeros((4, 32, MT, 2))
            for item in range(items):
                stage = item & 1
                h = g*G + item//tph; i0 = j0 + (item % tph)*Q
                valid = min(Q, n - i0)
                tiles[stage, :valid, :d] = q[h, i0:i0+valid]
                tlse[stage, :valid] = lse[h, i0:i0+valid]
                tile = tiles[stage]
                for warp in range(4):
                    key_base = j0 + warp*16*MT
                    acc = np.zeros((32, MT, 8, 4))
                    for s_ in range(STEPS):
                        b = np.zeros((32, 8, 2, 2))
                        for p in range(4):
                            # ldmatrix x4: lane l gives address of row l%8 of matrix l//8
                            addr = {}
                            for lane in range(32):
                                m = lane//8
                                r = (2*p + m//2)*8 + lane % 8; c = s_*16 + (m % 2)*8
                                addr[m, lane % 8] = (r, c)
                            for lane in range(32):
                                regs = []
                                for m in range(4):
                                    r, c = addr[m, lane//4]  # row lane//4 of matrix m
                                    regs.append((tile[r, c + 2*(lane % 4)], tile[r, c + 2*(lane % 4) + 1]))
                                b[lane, 2*p, 0] = regs[0]; b[lane, 2*p, 1] = regs[1]
                                b[lane, 2*p+1, 0] = regs[2]; b[lane, 2*p+1, 1] = regs[3]
                        for mt in range(MT):
                            # rebuild A (16x16) and B (16x8 per nb) from lanes per PTX layout
                            A = np.zeros((16, 16))
                            for lane in range(32):
                                gid, t = lane//4, lane % 4
                                regs = a[warp, lane, mt, s_]
                                A[gid, 2*t:2*t+2] = regs[0]; A[gid+8, 2*t:2*t+2] = regs[1]
                                A[gid, 2*t+8:2*t+10] = regs[2]; A[gid+8, 2*t+8:2*t+10] = regs[3]
                            for nb in range(8):
                                B = np.zeros((16, 8))
                                for lane in range(32):
                                    gid, t = lane//4, lane % 4
                                    B[2*t:2*t+2, gid] = b[lane, nb, 0]; B[2*t+8:2*t+10, gid] = b[lane, nb, 1]
                                C = A @ B
                                for lane in range(32):
                                    gid, t = lane//4, lane % 4
                                    acc[lane, mt, nb] += [C[gid, 2*t], C[gid, 2*t+1], C[gid+8, 2*t], C[gid+8, 2*t+1]]
                    edge = i0 < j0 + KEYS or i0 + Q > n
                    for lane in range(32):
                        for nb in range(8):
                            for e in range(2):
                                column = nb*8 + 2*(lane % 4) + e; query = i0 + column
                                l2 = tlse[stage, column]*log2e
                                for mt in range(MT):
                                    for half in range(2):
                                        p_ = 2**(acc[lane, mt, nb, half*2+e]*scale*log2e - l2)
                                        key = key_base + mt*16 + lane//4 + half*8
                                        if edge and (query >= n or key > query): p_ = 0
                                        row_sum[warp, lane, mt, half] += p_
            for warp in range(4):
                key_base = j0 + warp*16*MT
                for lane in range(0, 32, 4):
                    for mt in range(MT):
                        for half in range(2):
                            v = row_sum[warp, lane:lane+4, mt, half].sum()
                            key = key_base + mt*16 + lane//4 + half*8
                            if key < n: sums[g, key] = v
    err = np.nanmax(np.abs(sums - want) / (np.abs(want) + 1e-9))
    print(H, Hkv, n, d, D, "written all:", not np.isnan(sums).any(), "max rel err", err)

run(6, 2, 150, 32, 64)
run(2, 1, 200, 48, 64)
run(2, 2, 70, 64, 256)
