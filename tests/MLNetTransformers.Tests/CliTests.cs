using System.Diagnostics;
using System.Text.Json.Nodes;
using Xunit;

namespace MLNetTransformers.Tests;

/// <summary>The command-line tool, run as separate processes: train in one, evaluate and predict in fresh ones.</summary>
public sealed class CliTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("mlnt-cli-").FullName;
    public void Dispose() => Directory.Delete(_dir, true);

    private static (int Code, string Out, string Err) Run(params string[] args)
    {
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        psi.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "mlnet-transformers.dll"));
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        string err = p.StandardError.ReadToEnd();
        Assert.True(p.WaitForExit(120_000), "the CLI did not finish in 2 minutes");
        return (p.ExitCode, stdout.Result, err);
    }

    private static JsonNode LastJson(string output) => JsonNode.Parse(output.Trim().Split('\n')[^1])!;

    [Fact]
    public void Binary_TrainEvaluatePredict()
    {
        var lines = File.ReadAllLines(TestData.ReviewsPath);
        string train = Path.Combine(_dir, "train.tsv"), test = Path.Combine(_dir, "test.tsv"), model = Path.Combine(_dir, "m.mlnt");
        File.WriteAllLines(train, lines.Take(601));
        File.WriteAllLines(test, lines.Take(1).Concat(lines.Skip(601)));
        var t = Run("train", "--task", "binary", "--train", train, "--valid", test, "--model", model, "--epochs", "20", "--patience", "0",
            "--dim", "48", "--ffn", "96", "--vocab", "300", "--lr", "2e-3", "--max-tokens", "32", "--seed", "1");
        Assert.True(t.Code == 0, t.Err);
        Assert.Contains("epoch 1", t.Err); // live progress on stderr
        Assert.Equal("binary", (string?)LastJson(t.Out)["task"]);

        var e = Run("evaluate", "--model", model, "--test", test);
        Assert.True(e.Code == 0, e.Err);
        var metrics = LastJson(e.Out);
        Assert.True((double)metrics["accuracy"]! > 0.75, e.Out);
        Assert.NotNull(metrics["auc"]);
        Assert.NotNull(metrics["f1"]);

        var p1 = LastJson(Run("predict", "--model", model, "--text", "The cast was superb and the story gripping.").Out);
        var p2 = LastJson(Run("predict", "--model", model, "--text", "The cast was superb and the story gripping.").Out);
        Assert.Equal(p1.ToJsonString(), p2.ToJsonString()); // two fresh processes, identical predictions
        Assert.True((bool)p1["label"]!);
        Assert.Equal(1.0, (double)p1["probabilities"]!["true"]! + (double)p1["probabilities"]!["false"]!, 4);
    }

    [Fact]
    public void Multiclass_TrainEvaluatePredict_WithNamedColumns()
    {
        string train = Path.Combine(_dir, "topics.tsv"), model = Path.Combine(_dir, "t.mlnt");
        File.WriteAllLines(train, new[] { "id\ttopic\tbody" }.Concat(MulticlassAndTrainingTests.Topics(240, 3).Select((r, i) => $"{i}\t{r.Label}\t{r.Text}")));
        var t = Run("train", "--task", "multiclass", "--train", train, "--text-col", "body", "--label-col", "topic", "--model", model,
            "--epochs", "8", "--dim", "32", "--ffn", "64", "--vocab", "100", "--lr", "2e-3", "--max-tokens", "16");
        Assert.True(t.Code == 0, t.Err);
        var e = Run("evaluate", "--model", model, "--test", train, "--text-col", "body", "--label-col", "topic");
        Assert.True(e.Code == 0, e.Err);
        var m = LastJson(e.Out);
        Assert.True((double)m["micro_accuracy"]! > 0.9, e.Out);
        Assert.NotNull(m["macro_accuracy"]);
        Assert.NotNull(m["log_loss"]);
        var p = LastJson(Run("predict", "--model", model, "--text", "the chef and the oven and a recipe").Out);
        Assert.Equal("food", (string?)p["label"]);
        Assert.Equal(3, p["probabilities"]!.AsObject().Count);
    }

    [Fact]
    public void BadUsage_GivesClearErrors()
    {
        var r = Run("train", "--task", "regression", "--train", "x", "--model", "y");
        Assert.Equal(2, r.Code);
        Assert.Contains("--task must be binary or multiclass", r.Err);
        r = Run("train", "--task", "binary", "--train", Path.Combine(_dir, "missing.tsv"), "--model", "m");
        Assert.Equal(1, r.Code);
        Assert.Contains("missing.tsv", r.Err);
        string bad = Path.Combine(_dir, "one-col.tsv");
        File.WriteAllLines(bad, new[] { "sentence", "hello" });
        r = Run("train", "--task", "binary", "--train", bad, "--model", Path.Combine(_dir, "m"));
        Assert.Equal(1, r.Code);
        Assert.Contains("label column", r.Err);
        r = Run("predict", "--model", bad, "--text", "x");
        Assert.Equal(1, r.Code);
        Assert.Contains("one-col.tsv", r.Err);
        r = Run("frobnicate");
        Assert.Equal(2, r.Code);
        Assert.DoesNotContain("   at ", r.Err); // no stack traces for user errors
    }
}
