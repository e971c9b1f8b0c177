"""Wrong answers for the exercises of notebook 09 (CROWN, alpha-CROWN, the bracket)."""

_UPPER_LOOP = """const, A = A @ bs[-1], A @ Ws[-1]
for j in reversed(range(len(bounds))):
    lower_slope, upper_slope, upper_offset = relu_relaxation(*bounds[j])
    pos, neg = A.clamp(min=0), A.clamp(max=0)
    const = const + {offset} @ upper_offset
    A = {lines}
    const, A = const + A @ bs[j], A @ Ws[j]
mid, rad = (box[1] + box[0]) / 2, (box[1] - box[0]) / 2
return A @ mid {sign} A.abs() @ rad + const"""

_CONV = """import torch.nn.functional as F
A_in = {transpose}
return A_in, {const}"""

WRONG = {
    "9.1": [
        ("""answer = 0.0""", "the network classifies x as a 7"),
        ("""with torch.no_grad():
    answer = small(x)[0, label].item()""", "z_7 alone"),
        ("""answer = -1.655""", "CROWN's bound at ε = 0.05"),
        ("""answer = 5.0""", "every neuron is stable"),
    ],
    "9.2": [
        # the lower bound's lines, but the box's maximum
        (_UPPER_LOOP.format(offset="neg", lines="pos * lower_slope + neg * upper_slope", sign="+"),
         "a positive coefficient takes the upper line"),
        # the right lines, the box's minimum
        (_UPPER_LOOP.format(offset="pos", lines="pos * upper_slope + neg * lower_slope", sign="-"),
         "a^T mid + |a|^T rad"),
        # the chord's offset with the negative coefficients
        (_UPPER_LOOP.format(offset="neg", lines="pos * upper_slope + neg * lower_slope", sign="+"),
         "with the positive part"),
        # CROWN's lower bound, unchanged
        (_UPPER_LOOP.format(offset="neg", lines="pos * lower_slope + neg * upper_slope", sign="-"),
         "that is CROWN's lower bound"),
    ],
    "9.3": [
        (_CONV.format(transpose="F.conv_transpose2d(A, conv.weight, stride=2, padding=1)",
                      const="A.sum((2, 3)) @ conv.bias"), "output_padding=1"),
        (_CONV.format(transpose="F.conv_transpose2d(A, conv.weight, stride=2, output_padding=1)",
                      const="A.sum((2, 3)) @ conv.bias"), "crop what the padding added"),
        (_CONV.format(transpose="F.conv_transpose2d(A, conv.weight, padding=1)",
                      const="A.sum((2, 3)) @ conv.bias"), "stride=conv.stride"),
        (_CONV.format(transpose="F.conv_transpose2d(A, conv.weight, stride=2, padding=1, output_padding=1)",
                      const="torch.zeros(len(A), dtype=A.dtype)"), "its channel's bias"),
        (_CONV.format(transpose="F.conv2d(A, conv.weight.transpose(0, 1).flip(2, 3), padding=1)",
                      const="A.sum((2, 3)) @ conv.bias"), "stride=conv.stride"),
    ],
    "9.4": [('answer = "a"', "at least as tight"), ('answer = "b"', "solver tolerance"),
            ('answer = "c"', "the same box")],
    "9.5": [
        ("""measured = {n: linear_bounds(small, linf_box(x.double(), 0.05), objective_matrix(label)[:, [3]])[1][0, 0].item()
            for n in (5, 20, 100)}""", "CROWN's own bound"),
        ("""net = lower(small, x.shape[1:], dtype=torch.float64)
box05, c9 = linf_box(x.double(), 0.05), objective_matrix(label)[:, [9]]
measured = {n: alpha_crown_bounds(net, box05, c9, iterations=n)[1][0, 0].item() for n in (5, 20, 100)}""",
         "target 9's bounds"),
        ("""net = lower(small, x.shape[1:], dtype=torch.float64)
box05, c3 = linf_box(x.double(), 0.05), objective_matrix(label)[:, [3]]
bound = alpha_crown_bounds(net, box05, c3, iterations=100)[1][0, 0].item()
measured = {n: bound for n in (5, 20, 100)}""", "once per n"),
        ("""net = lower(small, x.shape[1:], dtype=torch.float64)
box05, c3 = linf_box(x.double(), 0.1), objective_matrix(label)[:, [3]]
measured = {n: alpha_crown_bounds(net, box05, c3, iterations=n)[1][0, 0].item() for n in (5, 20, 100)}""",
         "image 0 (x), ε = 0.05"),
        ("""measured = [-1.6, -1.6, -1.6]""", "a dict with the keys 5, 20 and 100"),
    ],
    "9.6": [('answer = "a"', "a local optimum is not the reason"), ('answer = "b"', "structural"),
            ('answer = "d"', "the LP is a relaxation")],
}
