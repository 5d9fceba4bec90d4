// The attention variants side by side on one sentence: the weights each computes for "Your journey starts with one
// step" (the 3-d embeddings of Raschka's "Build a Large Language Model (From Scratch)", chapter 3). Each row is a
// query token, each column the token it attends to; rows sum to 1. The same matrices are drawn as heatmaps side by
// side in one PNG (docs/attention-variants.png was made by this sample).
//   dotnet run -c Release --project samples/AttentionVariants [-- --plot attention-variants.png]
using MLNetTransformers.Core.Layers;
using MLNetTransformers.Interpretability;
using MLNetTransformers.Plots;
using ScottPlot;

var arg = new CommandArguments(args, texts: ["--plot"]);
if (arg.Problem() is { } problem) return CommandArguments.Fail(problem);
string[] tokens = ["Your", "journey", "starts", "with", "one", "step"];
float[] x =
[
    0.43f, 0.15f, 0.89f,
    0.55f, 0.87f, 0.66f,
    0.57f, 0.85f, 0.64f,
    0.22f, 0.58f, 0.33f,
    0.77f, 0.25f, 0.10f,
    0.05f, 0.80f, 0.55f,
];
const int T = 6, D = 3;
var maps = new List<AttentionMap>();

// 1. No weights: softmax(X·Xᵀ)·X, each token its own query, key and value.
var simplified = new SimplifiedSelfAttention();
simplified.Forward(x, 1, T, D);
Print("simplified self-attention: softmax(x·xᵀ), no trainable weights", simplified.Weights);

// 2. Trainable query, key and value projections (d_out 2), scaled by 1/√d_out.
var parameters = new ParameterSet();
var trainable = new SelfAttention(parameters, "sa.", D, 2);
var causal = new CausalSelfAttention(parameters, "causal.", D, 2);
var multiHead = new MultiHeadAttention(parameters, "mha.", 4, heads: 2, causal: true);
parameters.Allocate(seed: 123);
// The library initialises projections small (std 0.02), which makes untrained attention nearly uniform; like the book
// (torch.rand), draw them from U[0, 1) here so that the untrained weights differ by token (System.Random, so the
// numbers are not the book's).
var rng = new Random(123);
foreach (var w in new[] { trainable.Weight, multiHead.InProjWeight })
    for (int i = 0; i < w.Length; i++) w.Value[i] = rng.NextSingle();
trainable.Wq.CopyTo(causal.Wq); trainable.Wk.CopyTo(causal.Wk); trainable.Wv.CopyTo(causal.Wv); // same projections, only the mask differs
trainable.Forward(x, 1, T);
Print("self-attention with trainable W_q, W_k, W_v: softmax(q·kᵀ/√d)", trainable.Weights);

// 3. The same weights with a causal mask: a token sees only itself and earlier tokens (GPT).
causal.Forward(x, 1, T);
Print("causal self-attention: the same projections, future positions masked", causal.Weights);

// 4. Two heads, each with its own projections into half the width (inputs padded to d = 4 so that 2 heads divide it).
var x4 = new float[T * 4];
for (int t = 0; t < T; t++) x.AsSpan(t * D, D).CopyTo(x4.AsSpan(t * 4, D));
multiHead.Forward(x4, 1, T);
Print("multi-head causal attention, head 1 of 2", multiHead.Weights[..(T * T)]);
Print("multi-head causal attention, head 2 of 2", multiHead.Weights.Slice(T * T, T * T));

string plotPath = arg.Get("--plot") ?? Path.Combine(Path.GetTempPath(), "attention-variants.png");
var multiplot = new ScottPlot.Multiplot();
multiplot.RemovePlot(multiplot.GetPlot(0));
foreach (var map in maps) multiplot.AddPlot(AttentionHeatmap.Create(map));
multiplot.Layout = new ScottPlot.MultiplotLayouts.Grid(rows: 2, columns: 3);
multiplot.SavePng(plotPath, 1500, 900);
Console.WriteLine($"Heatmaps: {plotPath}");
return 0;

void Print(string title, ReadOnlySpan<float> w)
{
    maps.Add(new AttentionMap(title.Split(':')[0], tokens, tokens, w.ToArray()));
    Console.WriteLine(title);
    Console.WriteLine("         " + string.Concat(tokens.Select(t => $"{t,8}")));
    for (int q = 0; q < T; q++)
    {
        Console.Write($"{tokens[q],8} ");
        for (int k = 0; k < T; k++) Console.Write($"{w[q * T + k],8:F3}");
        Console.WriteLine();
    }
    Console.WriteLine();
}
