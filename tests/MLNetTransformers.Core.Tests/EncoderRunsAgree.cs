using MLNetTransformers.Core.Models;
using Xunit;

namespace MLNetTransformers.Core.Tests;

/// <summary>
/// An encoder's three ways of running a padded batch give the same hidden states on every real token: packed (padding
/// taken out), padded (padding masked), and the tiled inference (keys in blocks with an online softmax).
/// </summary>
internal static class EncoderRunsAgree
{
    /// <summary>Packed and padded training forwards and the tiled inference agree on <paramref name="ids"/> [batch, seqLen] (0 = padding).</summary>
    public static void PackedPaddedAndTiled(TransformerEncoder encoder, int[] ids, int batch, int seqLen)
    {
        int d = encoder.Config.ModelDim, n = batch * seqLen * d;
        var padding = ids.Select(i => i == 0).ToArray();
        bool packing = encoder.Packing;
        try
        {
            encoder.Packing = true;
            var packed = encoder.Forward(ids, batch, seqLen, padding, training: true).Take(n).ToArray();
            encoder.Packing = false;
            var padded = encoder.Forward(ids, batch, seqLen, padding, training: true).Take(n).ToArray();
            var tiled = encoder.Forward(ids, batch, seqLen, padding, training: false).Take(n).ToArray();
            for (int i = 0; i < n; i++)
            {
                if (padding[i / d]) continue;
                Assert.True(Math.Abs(packed[i] - padded[i]) < 1e-5f && Math.Abs(tiled[i] - padded[i]) < 1e-5f, $"hidden {i}: packed {packed[i]}, padded {padded[i]}, tiled {tiled[i]}");
            }
        }
        finally { encoder.Packing = packing; }
    }

    /// <summary>
    /// A classifier of 9 positions and a vocabulary of at least 13, its weights scrambled: every parameter's gradient on
    /// two sentences, the second padded, against finite differences; then its encoder's three runs agree on them.
    /// </summary>
    public static void GradientsOnTwoPaddedSentences_ThenPackedPaddedAndTiled(TransformerClassifier model)
    {
        GradCheck.Scramble(model.Parameters, 4, 0.3f);
        int[] ids = [1, 4, 12, 3, 5, 5, 7, 2, 9, 2, 6, 6, 8, 0, 0, 0, 0, 0];
        var batch = new TokenBatch(2, 9, ids, ids.Select(i => i == 0 ? 0 : 1).ToArray(), new[] { 2, 0 });
        GradCheck.CheckModel(model, batch);
        PackedPaddedAndTiled(model.Encoder, ids, 2, 9);
    }

    /// <summary>
    /// Sequences of 300 and 280 tokens (the tiled inference takes keys in blocks of 256): the tiled inference gives the
    /// materialized attention's hidden states, packed and padded. The encoder's MaxLength must reach 300.
    /// </summary>
    public static void TiledAndMaterializedOnLongSequences(TransformerEncoder encoder)
    {
        int d = encoder.Config.ModelDim, v = encoder.Config.VocabSize;
        var rng = new Random(3);
        var ids = Enumerable.Range(0, 600).Select(i => i >= 300 + 280 ? 0 : 1 + rng.Next(v - 1)).ToArray();
        var padding = ids.Select(i => i == 0).ToArray();
        foreach (bool packing in new[] { true, false })
        {
            encoder.Packing = packing;
            var materialized = encoder.Forward(ids, 2, 300, padding, training: true).Take(600 * d).ToArray();
            var tiled = encoder.Forward(ids, 2, 300, padding, training: false).Take(600 * d).ToArray();
            for (int i = 0; i < 600 * d; i++)
                if (!padding[i / d]) Assert.True(Math.Abs(tiled[i] - materialized[i]) < 1e-4f, $"packing {packing}, value {i}: tiled {tiled[i]}, materialized {materialized[i]}");
        }
    }
}
