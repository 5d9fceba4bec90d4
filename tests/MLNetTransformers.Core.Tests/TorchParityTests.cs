using MLNetTransformers.Core.Kernels;
using MLNetTransformers.Core.Layers;
using MLNetTransformers.Core.Models;
using Xunit;

namespace MLNetTransformers.Core.Tests;

/// <summary>Outputs within 1e-5 and gradients within 1e-4 (relative) of PyTorch 1.13 float64 on every fixture.</summary>
public class TorchParityTests
{
    private const double OutTol = 1e-5, GradTol = 1e-4;

    /// <summary>Copies fixture tensors into same-named parameters ('.' in our names is '_' in the fixture's).</summary>
    private static void LoadWeights(ParameterSet ps, TorchFixture f, string fixturePrefix = "")
    {
        foreach (var t in ps.Tensors)
        {
            string key = fixturePrefix + t.Name.Replace('.', '_');
            Assert.True(f.Has(key), $"{f.Name} has no tensor '{key}' for parameter {t.Name}.");
            Assert.Equal(f.Shape(key), t.Shape);
            f.F(key).CopyTo(t.Value);
        }
    }

    private static void CheckGrads(ParameterSet ps, TorchFixture f, string fixturePrefix = "")
    {
        foreach (var t in ps.Tensors)
        {
            string key = "grad_" + fixturePrefix + t.Name.Replace('.', '_');
            Assert.True(f.Has(key), $"{f.Name} has no gradient '{key}'.");
            Close.All(t.Grad, f.Raw(key), GradTol, $"{f.Name} {key}");
        }
    }

    [Fact]
    public void SimplifiedSelfAttention_MatchesTorch()
    {
        var f = new TorchFixture("simplified_self_attention");
        var att = new SimplifiedSelfAttention();
        var ctx = att.Forward(f.F("x"), 1, 6, 3);
        Close.All(ctx.AsSpan(0, 18), f.Raw("context"), OutTol, "context");
        Close.All(att.Weights, f.Raw("weights"), OutTol, "weights");
    }

    [Theory]
    [InlineData("mha_bidirectional", false)]
    [InlineData("mha_causal", true)]
    [InlineData("mha_padding_mask", false)]
    public void MultiHeadAttention_MatchesTorch(string name, bool causal)
    {
        var f = new TorchFixture(name);
        var ps = new ParameterSet();
        var mha = new MultiHeadAttention(ps, "", 16, 4, causal);
        ps.Allocate(1);
        LoadWeights(ps, f);
        bool[]? pad = f.Has("key_padding_mask") ? f.Raw("key_padding_mask").Select(v => v != 0).ToArray() : null;
        var y = mha.Forward(f.F("x"), 2, 5, pad);
        Close.All(y.AsSpan(0, 160), f.Raw("y"), OutTol, "y");
        Close.All(mha.Weights, f.Raw("weights"), OutTol, "weights");
        var dx = mha.Backward(f.F("R"));
        Close.All(dx.AsSpan(0, 160), f.Raw("grad_x"), GradTol, "grad_x");
        CheckGrads(ps, f);
    }

    [Fact]
    public void CrossAttention_MatchesTorch()
    {
        var f = new TorchFixture("cross_attention");
        var ps = new ParameterSet();
        var mha = new MultiHeadAttention(ps, "", 16, 2);
        ps.Allocate(1);
        LoadWeights(ps, f);
        var y = mha.Forward(f.F("q"), 2, 3, f.F("memory"), 6);
        Close.All(y.AsSpan(0, 96), f.Raw("y"), OutTol, "y");
        Close.All(mha.Weights, f.Raw("weights"), OutTol, "weights");
        var dq = mha.Backward(f.F("R"));
        Close.All(dq.AsSpan(0, 96), f.Raw("grad_q"), GradTol, "grad_q");
        Close.All(mha.MemoryGrad.AsSpan(0, 192), f.Raw("grad_memory"), GradTol, "grad_memory");
    }

    [Fact]
    public void LayerNorm_MatchesTorch()
    {
        var f = new TorchFixture("layer_norm");
        var ps = new ParameterSet();
        var ln = new LayerNorm(ps, "", 8);
        ps.Allocate(1);
        LoadWeights(ps, f);
        var y = ln.Forward(f.F("x"), 3);
        Close.All(y.AsSpan(0, 24), f.Raw("y"), OutTol, "y");
        var dx = ln.Backward(f.F("R"), 3);
        Close.All(dx.AsSpan(0, 24), f.Raw("grad_x"), GradTol, "grad_x");
        CheckGrads(ps, f);
    }

    [Theory]
    [InlineData(Activation.Gelu, "erf")]
    [InlineData(Activation.GeluTanh, "tanh")]
    public void Gelu_MatchesTorch(Activation act, string suffix)
    {
        var f = new TorchFixture("gelu");
        var x = f.F("x");
        var y = new float[x.Length];
        Activations.Forward(act, x, y);
        Close.All(y, f.Raw("y_" + suffix), OutTol, "y_" + suffix);
        var dx = new float[x.Length];
        Activations.Backward(act, x, f.F("R"), dx);
        Close.All(dx, f.Raw("grad_x_" + suffix), GradTol, "grad_x_" + suffix);
    }

    [Theory]
    [InlineData("encoder_layer_prenorm", NormPlacement.PreNorm)]
    [InlineData("encoder_layer_postnorm", NormPlacement.PostNorm)]
    public void EncoderBlock_MatchesTorch(string name, NormPlacement norm)
    {
        var f = new TorchFixture(name);
        var config = new TransformerConfig { ModelDim = 16, Heads = 4, FeedForwardDim = 32, Dropout = 0f, Norm = norm, Activation = Activation.Gelu };
        var ps = new ParameterSet();
        var block = new EncoderBlock(ps, "", config, causal: false, seed: 1);
        ps.Allocate(1);
        LoadWeights(ps, f);
        var y = block.Forward(f.F("x"), 2, 5, null, training: false);
        Close.All(y.AsSpan(0, 160), f.Raw("y"), OutTol, "y");
        var dx = block.Backward(f.F("R"), 2, 5);
        Close.All(dx.AsSpan(0, 160), f.Raw("grad_x"), GradTol, "grad_x");
        CheckGrads(ps, f);
    }

    [Fact]
    public void DecoderLanguageModel_MatchesTorch()
    {
        var f = new TorchFixture("decoder_lm_tiny");
        var config = new TransformerConfig
        {
            // Fixtures/torch/make_layers.py: 2 heads per layer.
            VocabSize = 11, ModelDim = 16, Heads = 2, Layers = 2, FeedForwardDim = 32, MaxLength = 6, Dropout = 0f,
            Norm = NormPlacement.PreNorm, Activation = Activation.Gelu, PositionalEncoding = PositionalEncodingKind.Learned,
        };
        var lm = new TransformerLanguageModel(config);
        LoadWeights(lm.Parameters, f);
        var batch = new TokenBatch(2, 6, f.Ints("ids"), labels: f.Ints("targets"));
        var logits = lm.Forward(batch);
        Close.All(logits.AsSpan(0, 2 * 6 * 11), f.Raw("logits"), OutTol, "logits");
        lm.Parameters.ZeroGrad();
        float loss = lm.ForwardBackward(batch);
        Assert.InRange(Math.Abs(loss - f.Raw("loss")[0]) / f.Raw("loss")[0], 0, OutTol);
        CheckGrads(lm.Parameters, f);
    }

    [Theory]
    [InlineData("seq2seq_prenorm", NormPlacement.PreNorm)]
    [InlineData("seq2seq_postnorm", NormPlacement.PostNorm)]
    public void EncoderDecoder_MatchesTorch(string name, NormPlacement norm)
    {
        // Fixtures/torch/make_seq2seq.py: nn.TransformerEncoder + nn.TransformerDecoder with padded sources and targets.
        var f = new TorchFixture(name);
        var config = new TransformerConfig
        {
            VocabSize = 13, ModelDim = 16, Heads = 2, Layers = 2, FeedForwardDim = 32, MaxLength = 8, Dropout = 0f, Norm = norm,
            Activation = Activation.Gelu, PositionalEncoding = PositionalEncodingKind.Learned,
        };
        var model = new TransformerSeq2Seq(config);
        LoadWeights(model.Parameters, f);
        var batch = new TokenBatch(2, 4, f.Ints("tgt"), f.Ints("tgt_mask"), f.Ints("targets")) { Source = new TokenBatch(2, 5, f.Ints("src"), f.Ints("src_mask")) };
        var logits = model.Forward(batch);
        // Padded target positions are not compared (PyTorch computes them over different masks); their targets are −100.
        var expected = f.Raw("logits");
        var real = f.Ints("tgt_mask");
        for (int i = 0; i < 8; i++)
            if (real[i] == 1) Close.All(logits.AsSpan(i * 13, 13), expected.AsSpan(i * 13, 13).ToArray(), OutTol, $"logits row {i}");
        model.Parameters.ZeroGrad();
        float loss = model.ForwardBackward(batch);
        Assert.InRange(Math.Abs(loss - f.Raw("loss")[0]) / f.Raw("loss")[0], 0, OutTol);
        CheckGrads(model.Parameters, f);
    }
}
