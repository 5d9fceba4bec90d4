// Trains two tiny transformers with the managed engine and prints their loss falling:
// a character-level GPT-style language model on a built-in verse (Jane Taylor, 1806), and an encoder classifier that learns
// whether a sequence of digits is sorted. Runs in well under a minute on two cores.
using System.Diagnostics;
using System.Text.Json;
using MLNetTransformers.Core.Models;
using MLNetTransformers.Core.Training;

const string Text = """
    Twinkle, twinkle, little star,
    How I wonder what you are!
    Up above the world so high,
    Like a diamond in the sky.
    When the blazing sun is gone,
    When he nothing shines upon,
    Then you show your little light,
    Twinkle, twinkle, all the night.
    """;

var sw = Stopwatch.StartNew();

// --- Causal language model over characters ---
var chars = Text.Distinct().OrderBy(c => c).ToArray();
var index = chars.Select((c, i) => (c, i)).ToDictionary(p => p.c, p => p.i);
int[] data = Text.Select(c => index[c]).ToArray();
int T = 32, B = 8;
var lmConfig = new TransformerConfig { VocabSize = chars.Length, ModelDim = 64, Heads = 4, Layers = 2, FeedForwardDim = 256, MaxLength = T, Dropout = 0f };
var lm = new TransformerLanguageModel(lmConfig, seed: 1);
var lmTrainer = new Trainer(lm, new TrainerOptions { LearningRate = 3e-3f, WarmupSteps = 20, TotalSteps = 300 });
var rng = new Random(1);
Console.WriteLine($"Language model: {lm.Parameters.Count:N0} parameters, vocabulary of {chars.Length} characters");
float lmFirst = 0, lmLast = 0;
for (int step = 0; step < 300; step++)
{
    var ids = new int[B * T];
    var targets = new int[B * T];
    for (int b = 0; b < B; b++)
    {
        int start = rng.Next(data.Length - T - 1);
        Array.Copy(data, start, ids, b * T, T);
        Array.Copy(data, start + 1, targets, b * T, T);
    }
    var r = lmTrainer.TrainStep(new TokenBatch(B, T, ids, labels: targets));
    if (step == 0) lmFirst = r.Loss;
    lmLast = r.Loss;
    if (step % 50 == 0 || step == 299) Console.WriteLine($"  step {step,3}  loss {r.Loss:F3}  lr {r.LearningRate:E1}");
}

// --- Encoder classifier: is the digit sequence sorted? ---
var clsConfig = new ClassifierConfig { VocabSize = 10, ModelDim = 32, Heads = 2, Layers = 2, FeedForwardDim = 64, MaxLength = 8, Dropout = 0f, NumClasses = 2 };
var classifier = new TransformerClassifier(clsConfig, seed: 2);
var clsTrainer = new Trainer(classifier, new TrainerOptions { LearningRate = 2e-3f, WarmupSteps = 10, TotalSteps = 400 });
TokenBatch SortedBatch(Random r, int n)
{
    var ids = new int[n * 8];
    var labels = new int[n];
    for (int b = 0; b < n; b++)
    {
        var seq = Enumerable.Range(0, 8).Select(_ => r.Next(10)).ToArray();
        labels[b] = r.Next(2);
        if (labels[b] == 1) Array.Sort(seq);
        else if (seq.SequenceEqual(seq.Order())) (seq[0], seq[7]) = (9, 0);
        seq.CopyTo(ids, b * 8);
    }
    return new TokenBatch(n, 8, ids, labels: labels);
}
Console.WriteLine($"Sortedness classifier: {classifier.Parameters.Count:N0} parameters");
float clsFirst = 0, clsLast = 0;
for (int step = 0; step < 400; step++)
{
    var r = clsTrainer.TrainStep(SortedBatch(rng, 32));
    if (step == 0) clsFirst = r.Loss;
    clsLast = r.Loss;
    if (step % 80 == 0 || step == 399) Console.WriteLine($"  step {step,3}  loss {r.Loss:F3}");
}
var test = SortedBatch(new Random(99), 256);
var probs = classifier.PredictProbabilities(test);
int correct = Enumerable.Range(0, 256).Count(i => (probs[i * 2 + 1] > 0.5f ? 1 : 0) == test.Labels![i]);
Console.WriteLine($"  held-out accuracy {correct / 256.0:P1}");

Console.WriteLine(JsonSerializer.Serialize(new
{
    lm_first_loss = Math.Round(lmFirst, 3), lm_last_loss = Math.Round(lmLast, 3),
    classifier_first_loss = Math.Round(clsFirst, 3), classifier_last_loss = Math.Round(clsLast, 3),
    classifier_accuracy = Math.Round(correct / 256.0, 3), seconds = Math.Round(sw.Elapsed.TotalSeconds, 1),
}));
