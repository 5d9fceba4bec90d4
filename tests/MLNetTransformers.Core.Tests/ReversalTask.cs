using MLNetTransformers.Core.Models;
using MLNetTransformers.Core.Training;

namespace MLNetTransformers.Core.Tests;

/// <summary>
/// A toy translation task for the encoder-decoders: the target is the source reversed. Tokens: 0 pad, 1 start, 2 end,
/// 3..10 symbols; sources of 3 to 5 symbols.
/// </summary>
internal static class ReversalTask
{
    public const int Start = 1, End = 2, Batch = 32;

    public static int[] Sequence(Random r) => Enumerable.Range(0, 3 + r.Next(3)).Select(_ => 3 + r.Next(8)).ToArray();

    /// <summary>25 batches of <see cref="Batch"/> pairs per epoch: sources [B, 5], decoder inputs [B, 6] from the start token, targets ending with the end token.</summary>
    public static IEnumerable<TrainingBatch> Batches(int epoch)
    {
        const int B = Batch;
        var rng = new Random(epoch);
        for (int step = 0; step < 25; step++)
        {
            var src = new int[B * 5]; var srcMask = new int[B * 5];
            var tgt = new int[B * 6]; var tgtMask = new int[B * 6]; var targets = Enumerable.Repeat(-100, B * 6).ToArray();
            for (int b = 0; b < B; b++)
            {
                var s = Sequence(rng);
                for (int i = 0; i < s.Length; i++) { src[b * 5 + i] = s[i]; srcMask[b * 5 + i] = 1; }
                var reversed = s.Reverse().ToArray();
                tgt[b * 6] = Start; tgtMask[b * 6] = 1;
                for (int i = 0; i < reversed.Length; i++) { tgt[b * 6 + i + 1] = reversed[i]; tgtMask[b * 6 + i + 1] = 1; targets[b * 6 + i] = reversed[i]; }
                targets[b * 6 + reversed.Length] = End;
            }
            yield return new TrainingBatch(new TokenBatch(B, 6, tgt, tgtMask, targets) { Source = new TokenBatch(B, 5, src, srcMask) }, B * 11);
        }
    }
}
