using System.Diagnostics;
using System.Text.Json.Nodes;
using Xunit;

namespace MLNetTransformers.Tests;

/// <summary>The command-line tool, run as separate processes: train in one, evaluate and predict in fresh ones.</summary>
public sealed class CliTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("mlnt-cli-").FullName;
    public void Dispose() => Directory.Delete(_dir, true);

    private static (int Code, string Out, string Err) Run(params string[] args) => RunWithEnvironment(null, null, args);

    // The command, with an environment variable set for it alone when name is given.
    private static (int Code, string Out, string Err) RunWithEnvironment(string? name, string? value, params string[] args)
    {
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        psi.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "mlnet-transformers.dll"));
        foreach (var a in args) psi.ArgumentList.Add(a);
        if (name is not null) psi.Environment[name] = value;
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        string err = p.StandardError.ReadToEnd();
        Assert.True(p.WaitForExit(120_000), "the CLI did not finish in 2 minutes");
        return (p.ExitCode, stdout.Result, err);
    }

    [Fact]
    public void Pretrained_TakesAHubIdFromTheHuggingFaceCache()
    {
        string cache = Path.Combine(_dir, "hub");
        // A fixture as huggingface_hub caches a download of owner/NAME: snapshots/COMMIT, refs/main naming it.
        string Cached(string name, string commit, string fixture)
        {
            string repo = Path.Combine(cache, "models--owner--" + name), snapshot = Path.Combine(repo, "snapshots", commit);
            Directory.CreateDirectory(snapshot);
            Directory.CreateDirectory(Path.Combine(repo, "refs"));
            File.WriteAllText(Path.Combine(repo, "refs", "main"), commit);
            foreach (var f in Directory.GetFiles(Path.Combine(AppContext.BaseDirectory, "Fixtures", "pretrained", fixture))) File.Copy(f, Path.Combine(snapshot, Path.GetFileName(f)));
            return snapshot;
        }
        string snapshot = Cached("tiny-bert", "0123abcd", "bert");
        var byId = RunWithEnvironment("HF_HUB_CACHE", cache, "embed", "--pretrained", "owner/tiny-bert", "--text", "the film");
        var byFolder = Run("embed", "--pretrained", snapshot, "--text", "the film");
        Assert.True(byId.Code == 0, byId.Err);
        Assert.Equal(byFolder.Out, byId.Out);
        // A ready classifier by id too.
        string classifier = Cached("tiny-classifier", "c0ffee", "roberta-classifier");
        var predicted = RunWithEnvironment("HF_HUB_CACHE", cache, "predict", "--model", "owner/tiny-classifier", "--text", "the film");
        Assert.True(predicted.Code == 0, predicted.Err);
        Assert.Equal(Run("predict", "--model", classifier, "--text", "the film").Out, predicted.Out);

        // And a masked LM for fill-mask.
        string mlm = Cached("tiny-mlm", "beef", "bert-mlm");
        var filled = RunWithEnvironment("HF_HUB_CACHE", cache, "fill-mask", "--model", "owner/tiny-mlm", "--text", "the [MASK] was good");
        Assert.True(filled.Code == 0, filled.Err);
        Assert.Equal(Run("fill-mask", "--model", mlm, "--text", "the [MASK] was good").Out, filled.Out);

        var missing = RunWithEnvironment("HF_HUB_CACHE", cache, "embed", "--pretrained", "owner/other", "--text", "the film");
        Assert.Equal(2, missing.Code);
        Assert.Contains("is not in the Hugging Face cache", missing.Err);
        Assert.Single(missing.Err.Trim().Split('\n'));
    }

    private static (int Code, string Out, string Err) RunWithInput(string input, params string[] args)
    {
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true, UseShellExecute = false };
        psi.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "mlnet-transformers.dll"));
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        p.StandardInput.Write(input);
        p.StandardInput.Close();
        Assert.True(p.WaitForExit(120_000), "the CLI did not finish in 2 minutes");
        return (p.ExitCode, stdout.Result, stderr.Result);
    }

    private static JsonNode LastJson(string output) => JsonNode.Parse(output.Trim().Split('\n')[^1])!;

    [Fact]
    public void FillMask_PrintsCandidatesPerMask_AndRefusesATextWithoutOne()
    {
        string folder = Path.Combine(AppContext.BaseDirectory, "Fixtures", "pretrained", "bert-mlm");
        var r = Run("fill-mask", "--model", folder, "--text", "the [MASK] was [MASK] .", "--top-k", "3");
        Assert.True(r.Code == 0, r.Err);
        var masks = LastJson(r.Out)["masks"]!.AsArray();
        Assert.Equal(2, masks.Count);
        Assert.Equal(3, masks[0]!["candidates"]!.AsArray().Count);
        Assert.Equal(2, masks[0]!["position"]!.GetValue<int>());

        var none = Run("fill-mask", "--model", folder, "--text", "the film was good");
        Assert.Equal(2, none.Code);
        Assert.Contains("[MASK]", none.Err);
        Assert.Single(none.Err.Trim().Split('\n'));
        var noHead = Run("fill-mask", "--model", Path.Combine(AppContext.BaseDirectory, "Fixtures", "pretrained", "distilbert"), "--text", "a [MASK]");
        Assert.Equal(1, noHead.Code);
        Assert.Contains("masked-LM head", noHead.Err);
    }

    // A model trained from scratch on a tokenizer someone trained with Hugging Face's tokenizers (its tokenizer.json, a BPE
    // over characters): trained, saved with the tokenizer inside, and asked without the file; a kind the file does not hold
    // is refused in one line when the file is read (exit 1, as a vocabulary file of the wrong kind is).
    [Fact]
    public void Train_FromScratch_WithATokenizerJson()
    {
        string train = Path.Combine(_dir, "train.tsv"), model = Path.Combine(_dir, "bpe.mlnt"), copy = Path.Combine(_dir, "tokenizer.json");
        File.Copy(Path.Combine(AppContext.BaseDirectory, "Fixtures", "pretrained", "bpe-tokenizer", "tokenizer.json"), copy);
        File.WriteAllLines(train, new[] { "text\tlabel" }.Concat(Enumerable.Range(0, 40).Select(i => i % 2 == 0 ? "the film was great and fun\t1" : "the plot was dull and bad\t0")));
        var r = Run("train", "--task", "binary", "--train", train, "--model", model, "--tokenizer", "bpe", "--vocab-file", copy, "--epochs", "2",
            "--layers", "1", "--dim", "32", "--heads", "2", "--ffn", "64", "--max-tokens", "16");
        Assert.True(r.Code == 0, r.Err);
        File.Delete(copy);
        var predicted = Run("predict", "--model", model, "--text", "the film was fun");
        Assert.True(predicted.Code == 0, predicted.Err);
        var tuned = TransformerModel.Parts(TransformerModel.Load(new Microsoft.ML.MLContext(seed: 0), model, out _)).OfType<Classification.TransformerClassificationTransformer>().Single();
        Assert.Equal(Tokenization.TokenizerKind.Bpe, tuned.Tokenizer.Kind);
        File.Copy(Path.Combine(AppContext.BaseDirectory, "Fixtures", "pretrained", "bpe-tokenizer", "tokenizer.json"), copy);
        var wrong = Run("train", "--task", "binary", "--train", train, "--model", model, "--tokenizer", "wordpiece", "--vocab-file", copy);
        Assert.Equal(1, wrong.Code);
        Assert.Contains("holds a Bpe tokenizer, but the tokenizer kind is WordPiece", wrong.Err);
        Assert.Single(wrong.Err.Trim().Split('\n'));
    }

    [Fact]
    public void SentencePairs_TrainARegressor_EvaluateWithCorrelations_AndPredictAPair()
    {
        string train = Path.Combine(_dir, "pairs.tsv"), model = Path.Combine(_dir, "pairs.mlnt");
        var rng = new Random(5);
        string[] words = ["film", "plot", "cast", "story", "end", "movie", "good", "bad", "dull", "fun"];
        var rows = Enumerable.Range(0, 200).Select(_ =>
        {
            var a = words.OrderBy(_ => rng.Next()).Take(3).ToArray();
            int shared = rng.Next(4);
            var b = a.Take(shared).Concat(words.Except(a).OrderBy(_ => rng.Next()).Take(3 - shared)).OrderBy(_ => rng.Next());
            return $"{string.Join(' ', a)}\t{string.Join(' ', b)}\t{shared}";
        });
        File.WriteAllLines(train, new[] { "first\tsecond\tscore" }.Concat(rows));
        var r = Run("train", "--task", "regression", "--train", train, "--model", model, "--text2-col", "second", "--epochs", "3",
            "--layers", "1", "--dim", "32", "--heads", "2", "--ffn", "64", "--max-tokens", "16", "--vocab", "100");
        Assert.True(r.Code == 0, r.Err);
        var summary = LastJson(r.Out);
        Assert.Equal("regression", summary["task"]!.GetValue<string>());
        Assert.True(summary["pairs"]!.GetValue<bool>());

        var evaluated = Run("evaluate", "--model", model, "--test", train);
        Assert.True(evaluated.Code == 0, evaluated.Err);
        var m = LastJson(evaluated.Out);
        foreach (var key in new[] { "rmse", "mae", "r2", "pearson", "spearman" }) Assert.NotNull(m[key]);
        Assert.Equal(200, m["rows"]!.GetValue<long>());
        Assert.InRange(m["pearson"]!.GetValue<double>(), -1, 1);

        var predicted = Run("predict", "--model", model, "--text", "film plot cast", "--text2", "cast plot film");
        Assert.True(predicted.Code == 0, predicted.Err);
        Assert.True(double.IsFinite(LastJson(predicted.Out)["score"]!.GetValue<double>()));

        // The bi-encoder: trained, evaluated and asked the same way.
        string bi = Path.Combine(_dir, "bi.mlnt");
        var biTrained = Run("train", "--task", "regression", "--bi-encoder", "--train", train, "--model", bi, "--text2-col", "second", "--epochs", "2",
            "--layers", "1", "--dim", "32", "--heads", "2", "--ffn", "64", "--max-tokens", "16", "--vocab", "100");
        Assert.True(biTrained.Code == 0, biTrained.Err);
        Assert.True(LastJson(biTrained.Out)["bi_encoder"]!.GetValue<bool>());
        var biEvaluated = Run("evaluate", "--model", bi, "--test", train);
        Assert.True(biEvaluated.Code == 0, biEvaluated.Err);
        Assert.Equal(200, LastJson(biEvaluated.Out)["rows"]!.GetValue<long>());
        var biPredicted = LastJson(Run("predict", "--model", bi, "--text", "film plot cast", "--text2", "cast plot film").Out);
        Assert.InRange(biPredicted["cosine"]!.GetValue<double>(), -1, 1);
        Assert.Equal(2, Run("train", "--task", "binary", "--bi-encoder", "--train", train, "--model", bi).Code);

        var single = Run("predict", "--model", model, "--text", "film plot cast");
        Assert.Equal(2, single.Code);
        Assert.Contains("--text2", single.Err);
        Assert.Single(single.Err.Trim().Split('\n'));

        File.WriteAllLines(Path.Combine(_dir, "bad.tsv"), ["first\tsecond\tscore", "a b\tb c\t2", "a c\tc d\tvery"]);
        var bad = Run("train", "--task", "regression", "--train", Path.Combine(_dir, "bad.tsv"), "--model", model, "--text2-col", "second");
        Assert.Equal(1, bad.Code);
        Assert.Contains("line 3", bad.Err);
        Assert.Contains("'very' is not a number", bad.Err);
        var noColumn = Run("train", "--task", "regression", "--train", train, "--model", model, "--text2-col", "hypothesis");
        Assert.Equal(1, noColumn.Code);
        Assert.Contains("'hypothesis'", noColumn.Err);
    }

    [Fact]
    public async Task Embed_PrintsTheLibrarysEmbeddings_OrCosinesToAQuery_AndRefusesBadInputInOneLine()
    {
        string bert = Path.Combine(AppContext.BaseDirectory, "Fixtures", "pretrained", "bert");
        string[] texts = ["the film was great and fun", "the plot was dull and bad", "not a good movie"];
        using var generator = new Embeddings.TransformerEmbeddingGenerator(Pretrained.PretrainedEncoder.FromHuggingFaceFolder(bert));
        var expected = await generator.GenerateAsync(texts);

        var r = RunWithInput(string.Join("\n", texts) + "\n", "embed", "--pretrained", bert, "--input", "-", "--batch-size", "2");
        Assert.True(r.Code == 0, r.Err);
        var lines = r.Out.Trim().Split('\n').Select(l => JsonNode.Parse(l)!).ToArray();
        Assert.Equal(texts, lines.Select(l => l["text"]!.GetValue<string>()));
        for (int i = 0; i < texts.Length; i++)
        {
            var v = lines[i]["embedding"]!.AsArray().Select(x => x!.GetValue<float>()).ToArray();
            Assert.Equal(expected[i].Vector.Length, v.Length);
            for (int k = 0; k < v.Length; k++) Assert.True(Math.Abs(expected[i].Vector.Span[k] - v[k]) <= 1e-5, $"text {i}, component {k}: {v[k]} against {expected[i].Vector.Span[k]}");
        }

        var q = Run("embed", "--pretrained", bert, "--text", texts[1], "--query", texts[1]);
        Assert.True(q.Code == 0, q.Err);
        Assert.True(Math.Abs(JsonNode.Parse(q.Out)!["cosine"]!.GetValue<double>() - 1.0) <= 1e-5, q.Out);

        foreach (var bad in new[] { new[] { "embed", "--pretrained", bert }, ["embed", "--text", "a"], ["embed", "--pretrained", Path.Combine(_dir, "none"), "--text", "a"],
            ["embed", "--pretrained", bert, "--text", "a", "--batch-size", "0"] })
        {
            var e = Run(bad);
            Assert.Equal(2, e.Code);
            Assert.Single(e.Err.Trim().Split('\n'));
            Assert.Equal("", e.Out);
        }
    }

    [Fact]
    public void PredictAndEvaluate_ReadAHuggingFaceClassifierFolder()
    {
        string fixtures = Path.Combine(AppContext.BaseDirectory, "Fixtures", "pretrained");
        var three = Run("predict", "--model", Path.Combine(fixtures, "bert-classifier"), "--text", "the film was great");
        Assert.True(three.Code == 0, three.Err);
        var probabilities = JsonNode.Parse(three.Out)!["probabilities"]!.AsObject();
        Assert.Equal(["negative", "neutral", "positive"], probabilities.Select(p => p.Key));
        Assert.Equal(1.0, probabilities.Sum(p => p.Value!.GetValue<double>()), 4);
        Assert.Equal(probabilities.MaxBy(p => p.Value!.GetValue<double>()).Key, JsonNode.Parse(three.Out)!["label"]!.GetValue<string>());

        var two = Run("predict", "--model", Path.Combine(fixtures, "roberta-classifier"), "--text", "the film was great");
        Assert.True(two.Code == 0, two.Err);
        Assert.Equal(["NEGATIVE", "POSITIVE"], JsonNode.Parse(two.Out)!["probabilities"]!.AsObject().Select(p => p.Key));
        Assert.Contains(JsonNode.Parse(two.Out)!["label"]!.GetValue<string>(), new[] { "NEGATIVE", "POSITIVE" });

        string test = Path.Combine(_dir, "three.tsv");
        File.WriteAllLines(test, ["text\tlabel", "the film was great\tpositive", "the plot was dull\tnegative", "i loved it\tneutral", "it was fun\tpositive"]);
        var evaluated = Run("evaluate", "--model", Path.Combine(fixtures, "bert-classifier"), "--test", test);
        Assert.True(evaluated.Code == 0, evaluated.Err);
        Assert.Equal(4, LastJson(evaluated.Out)["rows"]!.GetValue<int>());
        Assert.InRange(LastJson(evaluated.Out)["micro_accuracy"]!.GetValue<double>(), 0, 1);

        File.WriteAllLines(test, ["text\tlabel", "the film was great\t1", "the plot was dull\t0"]);
        var binary = Run("evaluate", "--model", Path.Combine(fixtures, "roberta-classifier"), "--test", test);
        Assert.True(binary.Code == 0, binary.Err);
        Assert.Equal(2, LastJson(binary.Out)["rows"]!.GetValue<int>());

        var notAClassifier = Run("predict", "--model", Path.Combine(fixtures, "bert"), "--text", "a");
        Assert.Equal(1, notAClassifier.Code);
        Assert.Contains("has no id2label", notAClassifier.Err);
        Assert.Single(notAClassifier.Err.Trim().Split('\n'));
    }

    // ELECTRA (projected embeddings, no pooler: fine-tuning adds its GELU head), MPNet (relative position bias, its
    // pretrained pooler kept), ALBERT (blocks sharing weights, spiece.model) and DeBERTa-v3 (disentangled attention, spm.model; fine-tuning
    // adds its ContextPooler head) from the command line: train, predict, int8, and back as the family's sequence classifier
    // with the same probabilities.
    [Theory]
    [InlineData("electra", "electra")]
    [InlineData("roformer", "roformer")]
    [InlineData("mpnet", "mpnet")]
    [InlineData("albert", "albert")]
    [InlineData("deberta", "deberta-v2")]
    [InlineData("modernbert", "modernbert")]
    [InlineData("nomic", "nomic_bert")] // its pretrained pooler kept, as BERT's
    [InlineData("jina", "bert")] // JinaBERT keeps BERT's model_type (position_embedding_type alibi)
    [InlineData("mosaic", "bert")] // MosaicBERT, exported in JinaBERT's layout (the same model), read back to the same probabilities
    [InlineData("ernie", "bert")] // ERNIE with its task type folded into the positions: BERT's model, exported as BERT's
    [InlineData("megatron", "megatron-bert")] // pre-norm BERT without the embeddings' LayerNorm, a final encoder.ln; its pretrained pooler kept
    [InlineData("roberta-prelayernorm", "roberta-prelayernorm")] // pre-norm RoBERTa with a final LayerNorm; its pooler written as classifier.dense
    [InlineData("xlmr-xl", "xlm-roberta-xl")] // XLM-RoBERTa-XL's shape: pre-norm RoBERTa without the embeddings' LayerNorm
    [InlineData("data2vec-text", "roberta")] // data2vec-text: RoBERTa's model under data2vec_text., exported as RoBERTa's
    [InlineData("deberta-v1", "deberta")] // DeBERTa v1: in_proj head by head, own position projections, vocab.json + merges.txt with BERT's specials
    [InlineData("mosaic-dna", "bert")] // DNABERT-2's layout: MosaicBERT with a BPE tokenizer.json over characters, written back as one
    [InlineData("gte-classifier", "new")] // GTE's NewForSequenceClassification folder as the start: its pooler kept
    public void Train_FineTunesElectraAndMpnetFolders_AndExportsThemWhole(string fixture, string modelType)
    {
        string folder = Path.Combine(AppContext.BaseDirectory, "Fixtures", "pretrained", fixture);
        string train = Path.Combine(_dir, "train.tsv"), model = Path.Combine(_dir, fixture + ".mlnt"), exported = Path.Combine(_dir, fixture + "-hf");
        File.WriteAllLines(train, new[] { "text\tlabel" }.Concat(Enumerable.Range(0, 40).Select(i => i % 2 == 0 ? "the film was great and fun\t1" : "the plot was dull and bad\t0")));
        var r = Run("train", "--task", "binary", "--train", train, "--model", model, "--pretrained", folder, "--epochs", "2", "--max-tokens", "16", "--lr", "1e-3");
        Assert.True(r.Code == 0, r.Err);
        Assert.Equal(0, Run("predict", "--model", model, "--int8", "--text", "the film was fun").Code);
        var export = Run("export-hf", "--model", model, "--out", exported);
        Assert.True(export.Code == 0, export.Err);
        Assert.Equal((modelType, "written"), (LastJson(export.Out)["model_type"]!.GetValue<string>(), LastJson(export.Out)["classifier_head"]!.GetValue<string>()));
        var tuned = TransformerModel.Parts(TransformerModel.Load(new Microsoft.ML.MLContext(seed: 0), model, out _)).OfType<Classification.TransformerClassificationTransformer>().Single();
        var whole = Classification.TransformerClassificationTransformer.FromHuggingFaceFolder(exported, maxTokens: 16);
        var (p1, p2) = (tuned.PredictProbabilities("the plot was dull and bad"), whole.PredictProbabilities("the plot was dull and bad"));
        for (int i = 0; i < p1.Length; i++) Assert.Equal(p1[i], p2[i], 5);
    }

    // ESM-2's shape (rotary positions, pre-norm blocks, token dropout) with its EsmTokenizer: protein sequences fine-tuned,
    // predicted with int8 layers, written back as an EsmForSequenceClassification folder that predicts the same, exported
    // to ONNX (its parity under ONNX Runtime: ExportParityTests.EsmShapedClassifier_…); fill-mask of "MKT<mask>AIQ" through
    // EsmForMaskedLM's head.
    [Fact]
    public void Esm_FineTunesOnProteins_ExportsThemWhole_AndFillsMasks()
    {
        string folder = Path.Combine(AppContext.BaseDirectory, "Fixtures", "pretrained", "esm");
        string train = Path.Combine(_dir, "proteins.tsv"), model = Path.Combine(_dir, "esm.mlnt"), exported = Path.Combine(_dir, "esm-hf"), onnx = Path.Combine(_dir, "esm.onnx");
        File.WriteAllLines(train, new[] { "text\tlabel" }.Concat(Enumerable.Range(0, 40).Select(i => i % 2 == 0 ? $"MKTAYIAKQRQISFVKSH{"LAGV"[i % 4]}\t1" : $"GGSSGGPPGDEEDK{"LAGV"[i % 4]}\t0")));
        var r = Run("train", "--task", "binary", "--train", train, "--model", model, "--pretrained", folder, "--epochs", "3", "--max-tokens", "24", "--lr", "1e-3");
        Assert.True(r.Code == 0, r.Err);
        var predicted = Run("predict", "--model", model, "--int8", "--text", "MKTAYIAKQRQISFVKSHL");
        Assert.True(predicted.Code == 0, predicted.Err);
        var export = Run("export-hf", "--model", model, "--out", exported);
        Assert.True(export.Code == 0, export.Err);
        Assert.Equal(("esm", "written"), (LastJson(export.Out)["model_type"]!.GetValue<string>(), LastJson(export.Out)["classifier_head"]!.GetValue<string>()));
        Assert.Contains("EsmTokenizer", File.ReadAllText(Path.Combine(exported, "tokenizer_config.json")));
        var tuned = TransformerModel.Parts(TransformerModel.Load(new Microsoft.ML.MLContext(seed: 0), model, out _)).OfType<Classification.TransformerClassificationTransformer>().Single();
        var whole = Classification.TransformerClassificationTransformer.FromHuggingFaceFolder(exported, maxTokens: 24);
        foreach (var protein in new[] { "GGSSGGPPGDEEDKA", "MKT<mask>AYIAKQR" })
        {
            var (p1, p2) = (tuned.PredictProbabilities(protein), whole.PredictProbabilities(protein));
            for (int i = 0; i < p1.Length; i++) Assert.Equal(p1[i], p2[i], 5);
        }
        var toOnnx = Run("export-onnx", "--model", model, "--out", onnx);
        Assert.True(toOnnx.Code == 0 && File.Exists(onnx), toOnnx.Err);
        var filled = Run("fill-mask", "--model", Path.Combine(AppContext.BaseDirectory, "Fixtures", "pretrained", "esm-mlm"), "--text", "MKT<mask>AIQ");
        Assert.True(filled.Code == 0, filled.Err);
        // a protein longer than the tokenizer's length is embedded cut, and the command says so once, naming the option
        var proteins = Path.Combine(_dir, "proteins.txt");
        File.WriteAllLines(proteins, ["MKTAYIAKQR", string.Concat(Enumerable.Repeat("MKTAYIAKQR", 5))]);
        var embedded = Run("embed", "--pretrained", folder, "--input", proteins);
        Assert.True(embedded.Code == 0, embedded.Err);
        Assert.Equal(2, embedded.Out.Trim().Split('\n').Length);
        Assert.Contains("note: 1 of 2 text(s) had more than 24 tokens and were cut; --max-tokens sets the length", embedded.Err);
        Assert.DoesNotContain("note:", Run("embed", "--pretrained", folder, "--text", "MKTAYIAKQR").Err);
    }

    // A tagger: train --task tag fine-tunes the BERT fixture on words tagged by space-separated tags, tag prints every word's
    // tag and the entities as JSON lines, export-hf writes it whole as BertForTokenClassification and tag reads that folder
    // to the same tags; export-onnx writes it; usage errors exit 2 in one line.
    [Fact]
    public void Tagger_TrainsTagsAndExports()
    {
        string folder = Path.Combine(AppContext.BaseDirectory, "Fixtures", "pretrained", "bert");
        string train = Path.Combine(_dir, "tagged.tsv"), model = Path.Combine(_dir, "tagger.mlnt"), exported = Path.Combine(_dir, "tagger-hf"), onnx = Path.Combine(_dir, "tagger.onnx");
        var rng = new Random(1);
        string[] praise = ["good", "great", "fun"], other = ["the", "film", "plot", "was", "and", "it"];
        File.WriteAllLines(train, new[] { "text\ttags" }.Concat(Enumerable.Range(0, 120).Select(_ =>
        {
            var words = Enumerable.Range(0, 5).Select(_ => rng.Next(3) == 0 ? (praise[rng.Next(3)], "B-POS") : (other[rng.Next(6)], "O")).ToArray();
            return string.Join(' ', words.Select(w => w.Item1)) + "\t" + string.Join(' ', words.Select(w => w.Item2));
        })));
        var r = Run("train", "--task", "tag", "--train", train, "--model", model, "--pretrained", folder, "--epochs", "8", "--max-tokens", "16", "--lr", "3e-3", "--batch-size", "8");
        Assert.True(r.Code == 0, r.Err);
        Assert.Equal(["B-POS", "O"], LastJson(r.Out)["tags"]!.AsArray().Select(t => t!.GetValue<string>()));
        var tagged = Run("tag", "--model", model, "--text", "the plot was great and fun");
        Assert.True(tagged.Code == 0, tagged.Err);
        var json = LastJson(tagged.Out);
        Assert.Equal(["O", "O", "O", "B-POS", "O", "B-POS"], json["words"]!.AsArray().Select(w => w!["tag"]!.GetValue<string>()));
        Assert.Equal(["great", "fun"], json["entities"]!.AsArray().Select(e => e!["text"]!.GetValue<string>()));
        var evaluated = Run("evaluate", "--model", model, "--test", train);
        Assert.True(evaluated.Code == 0, evaluated.Err);
        Assert.True(LastJson(evaluated.Out)["f1"]!.GetValue<double>() > 0.9, evaluated.Out);
        Assert.Equal(600, LastJson(evaluated.Out)["words"]!.GetValue<int>());
        var export = Run("export-hf", "--model", model, "--out", exported);
        Assert.True(export.Code == 0, export.Err);
        Assert.Contains("BertForTokenClassification", File.ReadAllText(Path.Combine(exported, "config.json")));
        var predicted = Run("predict", "--model", exported, "--text", "the plot");
        Assert.Equal((2, "is a tagger"), (predicted.Code, predicted.Err.Contains("is a tagger") ? "is a tagger" : predicted.Err));
        var fromFolder = Run("evaluate", "--model", exported, "--test", train);
        Assert.Equal(LastJson(evaluated.Out).ToJsonString(), LastJson(fromFolder.Out).ToJsonString());
        var again = Run("tag", "--model", exported, "--max-tokens", "16", "--text", "the plot was great and fun");
        Assert.Equal(tagged.Out, again.Out);
        var int8 = Run("tag", "--model", model, "--int8", "--text", "the plot was great and fun");
        Assert.True(int8.Code == 0, int8.Err);
        Assert.Equal(["O", "O", "O", "B-POS", "O", "B-POS"], LastJson(int8.Out)["words"]!.AsArray().Select(w => w!["tag"]!.GetValue<string>()));
        var toOnnx = Run("export-onnx", "--model", model, "--out", onnx, "--int8");
        Assert.True(toOnnx.Code == 0 && File.Exists(onnx), toOnnx.Err);
        var mismatch = Run("train", "--task", "tag", "--train", train, "--model", model, "--members", "2");
        Assert.Equal(2, mismatch.Code);
        Assert.Contains("--members: a token classifier (--task tag) does not use it.", mismatch.Err);
        Assert.Single(mismatch.Err.Trim().Split('\n'));
        var notTagger = Run("tag", "--model", Path.Combine(AppContext.BaseDirectory, "Fixtures", "pretrained", "bert-classifier"), "--text", "the film");
        Assert.Equal(1, notTagger.Code);
        Assert.Contains("not a token classifier", notTagger.Err);
    }

    // A question answerer: train --task qa fine-tunes the BERT fixture on context, question and answer columns (each answer
    // placed at its first occurrence, or by an answer-start column), answer prints the best answers with their offsets as
    // JSON lines, evaluate scores SQuAD's exact match and F1, export-hf writes it whole as BertForQuestionAnswering and
    // answer reads that folder to the same answers; export-onnx writes it; usage errors exit 2 in one line.
    // Task models' ONNX exports alone (optimum's, transformers.js' folders: onnx/model.onnx, config.json, tokenizer): predict,
    // tag and answer read them into the engine, and export-hf writes them as folders of weights that answer the same.
    [Fact]
    public void OnnxExportFolders_ArePredictedTaggedAnsweredAndWrittenAsWeights()
    {
        string Task(string name) => Path.Combine(AppContext.BaseDirectory, "Fixtures", "tasks", name);
        foreach (var (name, args) in new[]
        {
            ("bert-classifier", new[] { "predict", "--text", "the film was great" }),
            ("bert-token-classifier", ["tag", "--text", "the film was great , i loved it"]),
            ("roberta-qa", ["answer", "--question", "what was great ?", "--context", "the film was great and the cast was fun"]),
        })
        {
            var fromExport = Run([.. args, "--model", Task(name)]);
            Assert.True(fromExport.Code == 0, fromExport.Err);
            string weights = Path.Combine(_dir, name + "-weights");
            var written = Run("export-hf", "--model", Task(name), "--out", weights);
            Assert.True(written.Code == 0, written.Err);
            Assert.True(File.Exists(Path.Combine(weights, "model.safetensors")));
            var fromWeights = Run([.. args, "--model", weights]);
            Assert.True(fromWeights.Code == 0, fromWeights.Err);
            Assert.Equal(fromWeights.Out, fromExport.Out);
        }
        // A task export as a pretrained encoder: its encoder embeds as the folder of weights it wrote back does.
        var embedded = Run("embed", "--pretrained", Task("roberta-qa"), "--text", "the film was great");
        Assert.True(embedded.Code == 0, embedded.Err);
        Assert.Equal(Run("embed", "--pretrained", Path.Combine(_dir, "roberta-qa-weights"), "--text", "the film was great").Out, embedded.Out);
        // An export without its config.json: one line naming the file, exit 1.
        string bare = Path.Combine(_dir, "bare");
        Directory.CreateDirectory(bare);
        File.Copy(Path.Combine(Task("bert-classifier"), "onnx", "model.onnx"), Path.Combine(bare, "model.onnx"));
        var refused = Run("predict", "--model", bare, "--text", "the film");
        Assert.Equal(1, refused.Code);
        Assert.Contains("config.json", refused.Err);
        Assert.Single(refused.Err.Trim().Split('\n'));
    }

    // --provider: the model's exported graph scored by ONNX Runtime gives the engine's labels, tags and answers (its
    // numbers within float rounding); flags that do not go together are usage errors.
    [Fact]
    public void ScoringThroughOnnxRuntime_GivesTheEnginesLabelsTagsAndAnswers()
    {
        string Task(string name) => Path.Combine(AppContext.BaseDirectory, "Fixtures", "tasks", name);
        string[] predict = ["predict", "--model", Task("bert-classifier"), "--text", "the film was great"];
        string[] tag = ["tag", "--model", Task("bert-token-classifier"), "--text", "the film was great , i loved it"];
        string[] answer = ["answer", "--model", Task("roberta-qa"), "--question", "what was great ?", "--context", "the film was great and the cast was fun"];
        foreach (var (args, key, field) in new[] { (predict, "probabilities", "label"), (tag, "words", "tag"), (answer, "answers", "text") })
        {
            var engine = Run(args);
            var runtime = Run([.. args, "--provider", "cpu"]);
            Assert.True(engine.Code == 0 && runtime.Code == 0, engine.Err + runtime.Err);
            var (a, b) = (LastJson(engine.Out), LastJson(runtime.Out));
            if (field == "label")
            {
                Assert.Equal(a["label"]!.GetValue<string>(), b["label"]!.GetValue<string>());
                foreach (var (label, p) in a[key]!.AsObject()) Assert.Equal(p!.GetValue<double>(), b[key]![label]!.GetValue<double>(), 4);
            }
            else Assert.Equal(a[key]!.AsArray().Select(x => x![field]!.GetValue<string>()), b[key]!.AsArray().Select(x => x![field]!.GetValue<string>()));
        }
        var both = Run([.. tag, "--provider", "cpu", "--int8"]);
        Assert.Equal(2, both.Code);
        Assert.Contains("--int8", both.Err);
        var alone = Run([.. answer, "--fallback"]);
        Assert.Equal(2, alone.Code);
        Assert.Contains("--fallback goes with --provider", alone.Err);
        var cuda = Run([.. predict, "--provider", "cuda"]);
        if (cuda.Code != 0) // no GPU here: one line naming CUDA, exit 1; with --fallback, the CPU
        {
            Assert.Equal(1, cuda.Code);
            Assert.Contains("CUDA", cuda.Err);
            Assert.Single(cuda.Err.Trim().Split('\n'));
            Assert.Equal(0, Run([.. predict, "--provider", "cuda", "--fallback"]).Code);
        }
    }

    [Fact]
    public void QuestionAnswerer_TrainsAnswersEvaluatesAndExports()
    {
        string folder = Path.Combine(AppContext.BaseDirectory, "Fixtures", "pretrained", "bert");
        string train = Path.Combine(_dir, "questions.tsv"), placed = Path.Combine(_dir, "placed.tsv"), model = Path.Combine(_dir, "reader.mlnt"),
            exported = Path.Combine(_dir, "reader-hf"), onnx = Path.Combine(_dir, "reader.onnx");
        var rng = new Random(1);
        string[] praise = ["good", "great", "fun"], blame = ["bad", "dull"], other = ["the", "film", "plot", "was", "and", "it"];
        var rows = Enumerable.Range(0, 400).Select(_ =>
        {
            var words = Enumerable.Range(0, 4).Select(_ => other[rng.Next(6)]).ToList();
            string p = praise[rng.Next(3)], b = blame[rng.Next(2)];
            words.Insert(rng.Next(5), p);
            words.Insert(rng.Next(6), b);
            bool loved = rng.Next(2) == 0;
            return (Context: string.Join(' ', words), Question: loved ? "i loved" : "i hated", Answer: loved ? p : b);
        }).ToArray();
        File.WriteAllLines(train, new[] { "context\tquestion\tanswer" }.Concat(rows.Select(r => $"{r.Context}\t{r.Question}\t{r.Answer}")));
        var r = Run("train", "--task", "qa", "--train", train, "--model", model, "--pretrained", folder, "--epochs", "8", "--max-tokens", "16", "--lr", "3e-3", "--batch-size", "16");
        Assert.True(r.Code == 0, r.Err);
        Assert.Equal("qa", LastJson(r.Out)["task"]!.GetValue<string>());
        var answered = Run("answer", "--model", model, "--question", "i hated", "--context", "the plot was great and dull");
        Assert.True(answered.Code == 0, answered.Err);
        var best = LastJson(answered.Out)["answers"]!.AsArray()[0]!;
        Assert.Equal(("dull", 23, 27), (best["text"]!.GetValue<string>(), best["start"]!.GetValue<int>(), best["end"]!.GetValue<int>()));
        Assert.Equal(3, LastJson(answered.Out)["answers"]!.AsArray().Count);
        // Every span of six words (21) is ranked with --top-k 50; with --allow-no-answer, "no answer" too (an empty text at 0).
        string[] Texts(params string[] extra) => LastJson(Run(["answer", "--model", model, "--question", "i hated", "--context", "the plot was great and dull", "--top-k", "50", .. extra]).Out)["answers"]!
            .AsArray().Select(a => a!["text"]!.GetValue<string>()).ToArray();
        Assert.Equal(21, Texts().Length);
        Assert.DoesNotContain("", Texts());
        Assert.Equal(22, Texts("--allow-no-answer").Length);
        Assert.Contains("", Texts("--allow-no-answer"));
        // A file of questions (context first, question second) gives one line each, as asked one by one.
        string asked = Path.Combine(_dir, "asked.tsv");
        File.WriteAllLines(asked, ["context\tquestion", "the plot was great and dull\ti hated", "it was fun and bad\ti loved"]);
        var fromFile = Run("answer", "--model", model, "--file", asked);
        Assert.True(fromFile.Code == 0, fromFile.Err);
        Assert.Equal([answered.Out.Trim(), Run("answer", "--model", model, "--question", "i loved", "--context", "it was fun and bad").Out.Trim()], fromFile.Out.Trim().Split('\n'));
        var evaluated = Run("evaluate", "--model", model, "--test", train);
        Assert.True(evaluated.Code == 0, evaluated.Err);
        Assert.True(LastJson(evaluated.Out)["exact_match"]!.GetValue<double>() > 0.9, evaluated.Out);
        Assert.Equal(400, LastJson(evaluated.Out)["questions"]!.GetValue<int>());
        Assert.Null(LastJson(evaluated.Out)["best_f1"]);
        // With "no answer" ranked, SQuAD 2.0's best thresholds on the data too; answer takes a threshold, which ranks "no
        // answer" first when it is below every ratio and never first when above.
        var tuned = Run("evaluate", "--model", model, "--test", train, "--allow-no-answer");
        Assert.True(tuned.Code == 0, tuned.Err);
        var thresholds = LastJson(tuned.Out);
        Assert.Equal(0f, thresholds["no_answer_threshold"]!.GetValue<float>());
        Assert.True(thresholds["best_f1"]!.GetValue<double>() >= thresholds["f1"]!.GetValue<double>(), tuned.Out);
        Assert.True(thresholds["best_exact_match"]!.GetValue<double>() >= thresholds["exact_match"]!.GetValue<double>(), tuned.Out);
        float bestF1At = thresholds["best_f1_threshold"]!.GetValue<float>();
        Assert.True(float.IsFinite(bestF1At), tuned.Out);
        string FirstText(string threshold) => LastJson(Run("answer", "--model", model, "--question", "i hated", "--context", "the plot was great and dull",
            "--no-answer-threshold", threshold).Out)["answers"]!.AsArray()[0]!["text"]!.GetValue<string>();
        Assert.Equal("", FirstText("-1e30"));
        Assert.Equal("dull", FirstText("1e30"));
        var classifier = Run("evaluate", "--model", Path.Combine(AppContext.BaseDirectory, "Fixtures", "pretrained", "bert-classifier"), "--test", train, "--allow-no-answer");
        Assert.Equal(2, classifier.Code);
        Assert.Contains("--allow-no-answer: model", classifier.Err);
        Assert.Single(classifier.Err.Trim().Split('\n'));
        Assert.Equal(2, Run("answer", "--model", model, "--question", "i hated", "--context", "the plot", "--no-answer-threshold", "NaN").Code);
        var export = Run("export-hf", "--model", model, "--out", exported);
        Assert.True(export.Code == 0, export.Err);
        Assert.Contains("BertForQuestionAnswering", File.ReadAllText(Path.Combine(exported, "config.json")));
        var again = Run("answer", "--model", exported, "--max-tokens", "16", "--question", "i hated", "--context", "the plot was great and dull");
        Assert.Equal(answered.Out, again.Out);
        Assert.Equal(LastJson(evaluated.Out).ToJsonString(), LastJson(Run("evaluate", "--model", exported, "--test", train).Out).ToJsonString());
        var predicted = Run("predict", "--model", model, "--text", "the plot");
        Assert.Equal((2, "is a question answerer"), (predicted.Code, predicted.Err.Contains("is a question answerer") ? "is a question answerer" : predicted.Err));
        var toOnnx = Run("export-onnx", "--model", model, "--out", onnx, "--int8");
        Assert.True(toOnnx.Code == 0 && File.Exists(onnx), toOnnx.Err);
        // An answer-start column places each answer; one that does not point at its answer is refused naming the row.
        File.WriteAllLines(placed, ["context\tquestion\tanswer\tstart", "the film was good\ti loved\tgood\t13", "the film was good\ti loved\tgood\t3"]);
        var misplaced = Run("train", "--task", "qa", "--train", placed, "--model", model, "--answer-start-col", "start", "--epochs", "1");
        Assert.Equal(1, misplaced.Code);
        Assert.Contains("Row 1 of the training data: the answer 'good' ('TrainingAnswer') is not at character 3", misplaced.Err);
        var unused = Run("train", "--task", "qa", "--train", train, "--model", model, "--members", "2");
        Assert.Equal(2, unused.Code);
        Assert.Contains("--members: a question answerer (--task qa) does not use it.", unused.Err);
        Assert.Single(unused.Err.Trim().Split('\n'));
        var half = Run("answer", "--model", model, "--question", "i hated");
        Assert.Equal(2, half.Code);
        Assert.Contains("--context is missing", half.Err);
        var notReader = Run("answer", "--model", Path.Combine(AppContext.BaseDirectory, "Fixtures", "pretrained", "bert-token-classifier"), "--question", "a", "--context", "b");
        Assert.Equal(1, notReader.Code);
        Assert.Contains("not a question answerer", notReader.Err);
    }

    // A ModernBERT's or GTE's PyTorch ONNX export beside its config.json embeds as the folder's safetensors do, and so does a
    // folder that holds only the export as onnx/model.onnx (a transformers.js repository's layout).
    [Theory]
    [InlineData("modernbert")]
    [InlineData("gte")]
    [InlineData("deberta-v1")] // its per-head q_bias and v_bias constants named after the in_proj they follow; vocab.json + merges.txt
    [InlineData("esm")] // ESM's vocab.txt read as ESM's tokenizer beside the graph
    public void Embed_FromAFamilysOnnxExport_EqualsTheFolders(string fixture)
    {
        string folder = Path.Combine(AppContext.BaseDirectory, "Fixtures", "pretrained", fixture);
        var fromOnnx = Run("embed", "--pretrained", Path.Combine(folder, "model.onnx"), "--text", "the film was great");
        Assert.True(fromOnnx.Code == 0, fromOnnx.Err);
        Assert.Equal(Run("embed", "--pretrained", folder, "--text", "the film was great").Out, fromOnnx.Out);
        string onnxOnly = Path.Combine(_dir, fixture + "-onnx-only");
        Directory.CreateDirectory(Path.Combine(onnxOnly, "onnx"));
        foreach (var f in Directory.GetFiles(folder).Where(f => Path.GetFileName(f) is not ("model.safetensors" or "model.onnx")))
            File.Copy(f, Path.Combine(onnxOnly, Path.GetFileName(f)));
        File.Copy(Path.Combine(folder, "model.onnx"), Path.Combine(onnxOnly, "onnx", "model.onnx"));
        var fromFolder = Run("embed", "--pretrained", onnxOnly, "--text", "the film was great");
        Assert.True(fromFolder.Code == 0, fromFolder.Err);
        Assert.Equal(fromOnnx.Out, fromFolder.Out);
    }

    // A sentence-transformers folder with a Dense module (distiluse's and LaBSE's layout) embeds through it, 12 wide, as the
    // embedding generator does; a classifier fine-tuned from it reads the pooled vector, without the Dense module.
    [Fact]
    public async Task ASentenceTransformersDenseFolder_EmbedsThroughIt_AndFineTunesWithoutIt()
    {
        string folder = Path.Combine(AppContext.BaseDirectory, "Fixtures", "pretrained", "st-dense");
        using var generator = new Embeddings.TransformerEmbeddingGenerator(Pretrained.PretrainedEncoder.FromHuggingFaceFolder(folder));
        Assert.Equal(12, ((Microsoft.Extensions.AI.EmbeddingGeneratorMetadata)generator.GetService(typeof(Microsoft.Extensions.AI.EmbeddingGeneratorMetadata))!).DefaultModelDimensions);
        var expected = (await generator.GenerateAsync(["the film was great"]))[0].Vector.ToArray();
        var r = Run("embed", "--pretrained", folder, "--text", "the film was great");
        Assert.True(r.Code == 0, r.Err);
        var v = JsonNode.Parse(r.Out.Trim().Split('\n')[0])!["embedding"]!.AsArray().Select(x => x!.GetValue<float>()).ToArray();
        Assert.Equal(12, v.Length);
        for (int k = 0; k < 12; k++) Assert.True(Math.Abs(expected[k] - v[k]) <= 1e-5, $"component {k}: {v[k]} against {expected[k]}");

        string train = Path.Combine(_dir, "train-dense.tsv"), model = Path.Combine(_dir, "ft-dense.mlnt");
        File.WriteAllLines(train, new[] { "text\tlabel" }.Concat(Enumerable.Range(0, 20).Select(i => i % 2 == 0 ? "the film was great\t1" : "the film was dull\t0")));
        var trained = Run("train", "--task", "binary", "--train", train, "--model", model, "--pretrained", folder, "--epochs", "1", "--max-tokens", "12");
        Assert.True(trained.Code == 0, trained.Err);
        var encoder = Pretrained.PretrainedEncoder.FromHuggingFaceFolder(folder).Encoder;
        int dense = encoder.Parameters.Tensors.Where(t => t.Name.StartsWith("sentence_dense.", StringComparison.Ordinal)).Sum(t => t.Length);
        Assert.Equal(12 * 16 + 12, dense);
        Assert.Equal(encoder.Parameters.Count - dense + 2 * 16 + 2, LastJson(trained.Out)["parameters"]!.GetValue<int>()); // the encoder without the Dense module + a 2-class head
    }

    // A folder that holds only a quantized export (onnx/model_quantized.onnx, as quantize_dynamic writes it) embeds close to
    // the float export, and fine-tunes from its dequantized weights; a quantized graph the reader cannot undo is one line, exit 1.
    [Fact]
    public void AQuantizedExport_EmbedsAndFineTunes_AndOneNotUndoneIsRefusedInOneLine() =>
        AReducedExport_EmbedsAndFineTunes_AndOneNotReadIsRefusedInOneLine("model_quantized.onnx",
            bytes => Onnx.Tests.DynamicQuantization.Quantize(bytes, new(SignedWeights: true, PerChannel: true)), leastCosine: 0.99,
            g => g.Node.First(n => n.OpType == "MatMulInteger").OpType = "QLinearMatMul", "QLinearMatMul", trainFromTheFile: true);

    // A folder that holds only a 4-bit export (onnx/model_q4.onnx, as transformers.js's MatMul4BitsQuantizer writes it) embeds
    // close to the float export and fine-tunes; one with a g_idx reordering, which is not read, is one line, exit 1.
    [Fact]
    public void AFourBitExport_EmbedsAndFineTunes_AndOneNotReadIsRefusedInOneLine() =>
        AReducedExport_EmbedsAndFineTunes_AndOneNotReadIsRefusedInOneLine("model_q4.onnx",
            bytes => Onnx.Tests.BlockQuantization.Quantize(bytes, new(Symmetric: true, BlockSize: 32)), leastCosine: 0.95,
            g => g.Node.First(n => n.OpType == "MatMulNBits").Input.Add(["", g.Input[0].Name]), "g_idx", trainFromTheFile: false); // (no zero points), g_idx

    // GTE's export reduced by `reduce` as the folder's only onnx/<name>: `embed` within leastCosine of the float export,
    // `train` from the file or the folder; then the graph edited by `unreadable`, a one-line refusal naming the file and `refusal`, exit 1.
    private void AReducedExport_EmbedsAndFineTunes_AndOneNotReadIsRefusedInOneLine(string name, Func<byte[], byte[]> reduce, double leastCosine,
        Action<Onnx.Proto.GraphProto> unreadable, string refusal, bool trainFromTheFile)
    {
        string folder = Path.Combine(AppContext.BaseDirectory, "Fixtures", "pretrained", "gte"), reduced = Path.Combine(_dir, "gte-" + Path.GetFileNameWithoutExtension(name));
        Directory.CreateDirectory(Path.Combine(reduced, "onnx"));
        foreach (var f in new[] { "config.json", "vocab.txt" }) File.Copy(Path.Combine(folder, f), Path.Combine(reduced, f));
        var bytes = reduce(File.ReadAllBytes(Path.Combine(folder, "model.onnx")));
        File.WriteAllBytes(Path.Combine(reduced, "onnx", name), bytes);
        float[] Vector(string output) => JsonNode.Parse(output.Trim().Split('\n')[0])!["embedding"]!.AsArray().Select(x => x!.GetValue<float>()).ToArray();
        var fromReduced = Run("embed", "--pretrained", reduced, "--text", "the film was great");
        Assert.True(fromReduced.Code == 0, fromReduced.Err);
        var fromFloat = Run("embed", "--pretrained", Path.Combine(folder, "model.onnx"), "--text", "the film was great");
        float cosine = System.Numerics.Tensors.TensorPrimitives.CosineSimilarity(Vector(fromReduced.Out), Vector(fromFloat.Out));
        Assert.True(cosine >= leastCosine, $"cosine {cosine}");

        string train = Path.Combine(_dir, $"train-{name}.tsv"), model = Path.Combine(_dir, $"ft-{name}.mlnt");
        File.WriteAllLines(train, new[] { "text\tlabel" }.Concat(Enumerable.Range(0, 20).Select(i => i % 2 == 0 ? "the film was great\t1" : "the film was dull\t0")));
        var trained = Run("train", "--task", "binary", "--train", train, "--model", model, "--pretrained", trainFromTheFile ? Path.Combine(reduced, "onnx", name) : reduced, "--epochs", "1", "--max-tokens", "12");
        Assert.True(trained.Code == 0, trained.Err);

        var edited = Onnx.Proto.ModelProto.Parser.ParseFrom(bytes);
        unreadable(edited.Graph);
        File.WriteAllBytes(Path.Combine(reduced, "onnx", name), Google.Protobuf.MessageExtensions.ToByteArray(edited));
        var refused = Run("embed", "--pretrained", reduced, "--text", "the film was great");
        Assert.Equal(1, refused.Code);
        Assert.Contains(name, refused.Err);
        Assert.Contains(refusal, refused.Err);
        Assert.Single(refused.Err.Trim().Split('\n'));
    }

    [Fact]
    public void Train_FineTunesAPretrainedFolder_AndRefusesBadOnesInOneLine()
    {
        string bert = Path.Combine(AppContext.BaseDirectory, "Fixtures", "pretrained", "bert");
        string train = Path.Combine(_dir, "train.tsv"), model = Path.Combine(_dir, "ft.mlnt");
        File.WriteAllLines(train, new[] { "text\tlabel" }.Concat(Enumerable.Range(0, 40).Select(i => i % 2 == 0 ? "the film was great and fun\t1" : "the plot was dull and bad\t0")));
        var r = Run("train", "--task", "binary", "--train", train, "--model", model, "--pretrained", bert, "--epochs", "2", "--max-tokens", "16", "--lr", "1e-3");
        Assert.True(r.Code == 0, r.Err);
        int encoder = Pretrained.PretrainedEncoder.FromHuggingFaceFolder(bert).Encoder.Parameters.Count;
        Assert.Equal(encoder + 2 * 16 + 2, LastJson(r.Out)["parameters"]!.GetValue<int>()); // the checkpoint's encoder (with its pooler) + a 2-class head
        var predicted = Run("predict", "--model", model, "--text", "the film was great and fun");
        Assert.Equal(0, predicted.Code);

        // The fine-tuned encoder goes back to Hugging Face's format and reads back to the classifier's encoder weights.
        string exported = Path.Combine(_dir, "exported");
        var export = Run("export-hf", "--model", model, "--out", exported);
        Assert.True(export.Code == 0, export.Err);
        Assert.Equal("bert", LastJson(export.Out)["model_type"]!.GetValue<string>());
        var tuned = TransformerModel.Parts(TransformerModel.Load(new Microsoft.ML.MLContext(seed: 0), model, out _)).OfType<Classification.TransformerClassificationTransformer>().Single();
        var reread = Pretrained.PretrainedEncoder.FromHuggingFaceFolder(exported).Encoder;
        foreach (var t in reread.Parameters.Tensors) Assert.Equal(tuned.Model.Parameters[t.Name].Value.ToArray(), t.Value.ToArray());
        // With BERT's pooler and head it goes whole, as BertForSequenceClassification: the same classes and probabilities.
        Assert.Equal("written", LastJson(export.Out)["classifier_head"]!.GetValue<string>());
        var whole = Classification.TransformerClassificationTransformer.FromHuggingFaceFolder(exported, maxTokens: 16);
        Assert.Equal(tuned.ClassNames, whole.ClassNames);
        var (p1, p2) = (tuned.PredictProbabilities("the plot was dull and bad"), whole.PredictProbabilities("the plot was dull and bad"));
        for (int i = 0; i < p1.Length; i++) Assert.Equal(p1[i], p2[i], 5);

        // A mean-pooled classifier (fine-tuned from a sentence-transformers folder) has no Hugging Face class: its encoder goes.
        string meanFolder = Path.Combine(_dir, "mean");
        Directory.CreateDirectory(Path.Combine(meanFolder, "1_Pooling"));
        foreach (var f in Directory.GetFiles(bert)) File.Copy(f, Path.Combine(meanFolder, Path.GetFileName(f)));
        File.WriteAllText(Path.Combine(meanFolder, "modules.json"), """[{"path": "", "type": "sentence_transformers.models.Transformer"}, {"path": "1_Pooling", "type": "sentence_transformers.models.Pooling"}]""");
        File.WriteAllText(Path.Combine(meanFolder, "1_Pooling", "config.json"), """{"pooling_mode_mean_tokens": true}""");
        string meanModel = Path.Combine(_dir, "mean.mlnt");
        var meanTrain = Run("train", "--task", "binary", "--train", train, "--model", meanModel, "--pretrained", meanFolder, "--epochs", "1", "--max-tokens", "16");
        Assert.True(meanTrain.Code == 0, meanTrain.Err);
        var meanExport = Run("export-hf", "--model", meanModel, "--out", Path.Combine(_dir, "mean-exported"));
        Assert.True(meanExport.Code == 0, meanExport.Err);
        Assert.StartsWith("not written: ", LastJson(meanExport.Out)["classifier_head"]!.GetValue<string>());
        Assert.True(File.Exists(Path.Combine(_dir, "mean-exported", "modules.json")));
        foreach (var usage in new[] { new[] { "export-hf", "--out", exported }, ["export-hf", "--model", model, "--pretrained", bert, "--out", exported], ["export-hf", "--model", model, "--out", train] })
        {
            var e = Run(usage);
            Assert.Equal(2, e.Code);
            Assert.Single(e.Err.Trim().Split('\n'));
        }

        var shaped = Run("train", "--task", "binary", "--train", train, "--model", model, "--pretrained", bert, "--layers", "4");
        Assert.Equal(2, shaped.Code);
        Assert.Contains("--layers: a --pretrained encoder brings its own shape", shaped.Err);

        // The fixture has 24 positions: a longer --max-tokens, or one no tokenizer takes, is a usage error naming the option.
        foreach (var tokens in new[] { "25", "1" })
        {
            var tooLong = Run("train", "--task", "binary", "--train", train, "--model", model, "--pretrained", bert, "--max-tokens", tokens);
            Assert.Equal(2, tooLong.Code);
            Assert.Contains($"--max-tokens {tokens}:", tooLong.Err);
            Assert.Single(tooLong.Err.Trim().Split('\n'));
        }

        var missing = Run("train", "--task", "binary", "--train", train, "--model", model, "--pretrained", Path.Combine(_dir, "nothing"));
        Assert.Equal(2, missing.Code);
        Assert.Contains("--pretrained", missing.Err);
        Assert.Single(missing.Err.Trim().Split('\n'));

        string bad = Path.Combine(_dir, "bad");
        Directory.CreateDirectory(bad);
        foreach (var f in Directory.GetFiles(bert)) File.Copy(f, Path.Combine(bad, Path.GetFileName(f)));
        File.WriteAllText(Path.Combine(bad, "config.json"), File.ReadAllText(Path.Combine(bert, "config.json")).Replace("\"bert\"", "\"t5\""));
        var refused = Run("train", "--task", "binary", "--train", train, "--model", Path.Combine(_dir, "never.mlnt"), "--pretrained", bad);
        Assert.Equal(1, refused.Code);
        Assert.Contains("model_type 't5' is not supported", refused.Err);
        Assert.Contains("config.json", refused.Err);
        Assert.Single(refused.Err.Trim().Split('\n'));
        Assert.False(File.Exists(Path.Combine(_dir, "never.mlnt")));

        // A folder with PyTorch's pickle instead of safetensors is read the same way; one whose pickle names code is refused, the code not run.
        string unsafeFolder = Path.Combine(_dir, "unsafe");
        Directory.CreateDirectory(unsafeFolder);
        foreach (var f in new[] { "config.json", "vocab.txt" }) File.Copy(Path.Combine(bert, f), Path.Combine(unsafeFolder, f));
        using (var zip = new System.IO.Compression.ZipArchive(File.Create(Path.Combine(unsafeFolder, "pytorch_model.bin")), System.IO.Compression.ZipArchiveMode.Create))
        using (var pkl = zip.CreateEntry("archive/data.pkl").Open())
            pkl.Write([0x80, 0x02, .. "cos\nsystem\n."u8.ToArray()]);
        var unsafeRun = Run("train", "--task", "binary", "--train", train, "--model", Path.Combine(_dir, "never.mlnt"), "--pretrained", unsafeFolder);
        Assert.Equal(1, unsafeRun.Code);
        Assert.Contains("pytorch_model.bin' is invalid or unsafe: it refers to os.system", unsafeRun.Err);
        Assert.Single(unsafeRun.Err.Trim().Split('\n'));
        Assert.False(File.Exists(Path.Combine(_dir, "never.mlnt")));
    }

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
        Assert.InRange((double)metrics["auc"]!, 0.8, 1.0);
        Assert.InRange((double)metrics["f1"]!, 0.7, 1.0);
        Assert.Equal(lines.Length - 601, (int)metrics["rows"]!);

        // int8 scoring: the same rows, accuracy within two points of float, and a probability that moved (it ran int8).
        var q = Run("evaluate", "--model", model, "--test", test, "--int8");
        Assert.True(q.Code == 0, q.Err);
        var qm = LastJson(q.Out);
        Assert.Equal((int)metrics["rows"]!, (int)qm["rows"]!);
        Assert.True(Math.Abs((double)qm["accuracy"]! - (double)metrics["accuracy"]!) <= 0.02, $"float {e.Out} int8 {q.Out}");
        var pf = LastJson(Run("predict", "--model", model, "--text", "A dull, lifeless film.").Out);
        var pq = LastJson(Run("predict", "--model", model, "--text", "A dull, lifeless film.", "--int8").Out);
        Assert.Equal((bool)pf["label"]!, (bool)pq["label"]!);
        Assert.NotEqual((double)pf["probabilities"]!["true"]!, (double)pq["probabilities"]!["true"]!);
        Assert.Equal((double)pf["probabilities"]!["true"]!, (double)pq["probabilities"]!["true"]!, 1);

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
        Assert.InRange((double)m["macro_accuracy"]!, 0.9, 1.0);
        Assert.InRange((double)m["log_loss"]!, 0.0, 0.5);
        // A class the model never saw is refused, naming it, instead of all-zero metrics.
        string unseen = Path.Combine(_dir, "unseen.tsv");
        File.WriteAllLines(unseen, new[] { "id\ttopic\tbody", "1\tfood\tthe chef", "2\tweather\ta cold front" });
        var u = Run("evaluate", "--model", model, "--test", unseen, "--text-col", "body", "--label-col", "topic");
        Assert.Equal(1, u.Code);
        Assert.Contains("'weather'", u.Err);
        Assert.Contains("data row 2", u.Err);
        var p = LastJson(Run("predict", "--model", model, "--text", "the chef and the oven and a recipe").Out);
        Assert.Equal("food", (string?)p["label"]);
        Assert.Equal(3, p["probabilities"]!.AsObject().Count);
    }

    [Fact]
    public void ExportOnnx_ThenOnnxRun_OnOurModelAndOnAForeignOne()
    {
        var lines = File.ReadAllLines(TestData.ReviewsPath);
        string train = Path.Combine(_dir, "train.tsv"), model = Path.Combine(_dir, "m.mlnt"), onnx = Path.Combine(_dir, "m.onnx");
        File.WriteAllLines(train, lines.Take(300));
        Assert.Equal(0, Run("train", "--task", "binary", "--train", train, "--model", model, "--epochs", "1", "--dim", "32", "--ffn", "64", "--vocab", "200").Code);
        var e = Run("export-onnx", "--model", model, "--out", onnx);
        Assert.True(e.Code == 0, e.Err);
        Assert.Equal(17, (int)LastJson(e.Out)["opset"]!);
        // Saving never replaces the input model, a directory or a named pipe.
        long size = new FileInfo(model).Length;
        var same = Run("export-onnx", "--model", model, "--out", model);
        Assert.Equal(2, same.Code);
        Assert.Equal(size, new FileInfo(model).Length);
        Assert.Contains("is a directory", Run("export-onnx", "--model", model, "--out", _dir).Err);
        string fifo = Path.Combine(_dir, "out.fifo");
        using (var mk = Process.Start("mkfifo", fifo)) mk.WaitForExit();
        var pipe = Run("export-onnx", "--model", model, "--out", fifo);
        Assert.Equal(1, pipe.Code);
        Assert.Contains("named pipe", pipe.Err);

        string inputs = Path.Combine(_dir, "in.json");
        File.WriteAllText(inputs, "{\"input_ids\": [[2, 7, 9, 3], [2, 11, 3, 0]], \"attention_mask\": [[1, 1, 1, 1], [1, 1, 1, 0]]}");
        // The int8 export: smaller, runs in ONNX Runtime with the float export's output shapes.
        string onnx8 = Path.Combine(_dir, "m8.onnx");
        var e8 = Run("export-onnx", "--model", model, "--out", onnx8, "--int8");
        Assert.True(e8.Code == 0, e8.Err);
        Assert.True((bool)LastJson(e8.Out)["int8"]!);
        Assert.True(new FileInfo(onnx8).Length < new FileInfo(onnx).Length, "the int8 export is not smaller");
        var r8 = Run("onnx-run", "--onnx", onnx8, "--inputs", inputs);
        Assert.True(r8.Code == 0, r8.Err);
        Assert.Equal(2, LastJson(r8.Out)["logits"]!.AsArray().Count);
        var r = Run("onnx-run", "--onnx", onnx, "--inputs", inputs);
        Assert.True(r.Code == 0, r.Err);
        var outputs = LastJson(r.Out);
        Assert.Equal(2, outputs["logits"]!.AsArray().Count);
        Assert.Equal(2, outputs["logits"]![0]!.AsArray().Count);
        Assert.Equal(32, outputs["embeddings"]![1]!.AsArray().Count);

        // CUDA on this CPU-only ONNX Runtime: a clear error, or the CPU with --fallback.
        var cuda = Run("onnx-run", "--onnx", onnx, "--inputs", inputs, "--provider", "cuda");
        if (cuda.Code != 0) Assert.Contains("Microsoft.ML.OnnxRuntime.Gpu", cuda.Err);
        var fallback = Run("onnx-run", "--onnx", onnx, "--inputs", inputs, "--provider", "cuda", "--fallback");
        Assert.True(fallback.Code == 0, fallback.Err);
        Assert.Equal(outputs.ToJsonString(), LastJson(fallback.Out).ToJsonString());

        // Token inputs are checked before ONNX Runtime sees them: mask values, matching shapes, ids inside the vocabulary.
        File.WriteAllText(inputs, "{\"input_ids\": [[2, 7, 9, 3]], \"attention_mask\": [[1, 1, 2, 1]]}");
        Assert.Contains("holds 2 at position 2", Run("onnx-run", "--onnx", onnx, "--inputs", inputs).Err);
        File.WriteAllText(inputs, "{\"input_ids\": [[2, 7, 9, 3]], \"attention_mask\": [[1, 1, 1]]}");
        Assert.Contains("same shape", Run("onnx-run", "--onnx", onnx, "--inputs", inputs).Err);
        File.WriteAllText(inputs, "{\"input_ids\": [[2, 7, 99999, 3]], \"attention_mask\": [[1, 1, 1, 1]]}");
        var outside = Run("onnx-run", "--onnx", onnx, "--inputs", inputs);
        Assert.Equal(1, outside.Code);
        Assert.Contains("outside the model's vocabulary", outside.Err);
        Assert.False(outside.Err.Contains('\u001b'), outside.Err); // no ONNX Runtime colour codes

        // A model this library did not make: y = x·2 + b over float input [batch, 3].
        var g = new MLNetTransformers.Onnx.Proto.GraphProto { Name = "foreign" };
        g.Node.Add(new MLNetTransformers.Onnx.Proto.NodeProto { OpType = "Mul", Input = { "x", "two" }, Output = { "t" } });
        g.Node.Add(new MLNetTransformers.Onnx.Proto.NodeProto { OpType = "Add", Input = { "t", "b" }, Output = { "y" } });
        var two = new MLNetTransformers.Onnx.Proto.TensorProto { Name = "two", DataType = 1 }; two.FloatData.Add(2f);
        var b = new MLNetTransformers.Onnx.Proto.TensorProto { Name = "b", DataType = 1, Dims = { 3 } }; b.FloatData.AddRange(new[] { 1f, 0f, -1f });
        g.Initializer.Add(two); g.Initializer.Add(b);
        MLNetTransformers.Onnx.Proto.ValueInfoProto Info(string n) => new() { Name = n, Type = new() { TensorType = new() { ElemType = 1,
            Shape = new() { Dim = { new MLNetTransformers.Onnx.Proto.TensorShapeProto.Types.Dimension { DimParam = "batch" }, new MLNetTransformers.Onnx.Proto.TensorShapeProto.Types.Dimension { DimValue = 3 } } } } } };
        g.Input.Add(Info("x")); g.Output.Add(Info("y"));
        var m = new MLNetTransformers.Onnx.Proto.ModelProto { IrVersion = 8, Graph = g, OpsetImport = { new MLNetTransformers.Onnx.Proto.OperatorSetIdProto { Version = 17 } } };
        string foreign = Path.Combine(_dir, "foreign.onnx");
        File.WriteAllBytes(foreign, Google.Protobuf.MessageExtensions.ToByteArray(m));
        File.WriteAllText(inputs, "{\"x\": [[1, 2, 3], [0.5, 0, -2]]}");
        var f = Run("onnx-run", "--onnx", foreign, "--inputs", inputs);
        Assert.True(f.Code == 0, f.Err);
        Assert.Equal("{\"y\":[[3,4,5],[2,0,-5]]}", LastJson(f.Out).ToJsonString());

        // Bad input files name the problem.
        File.WriteAllText(inputs, "{\"x\": [[1, 2, 3], [1, 2]]}");
        Assert.Contains("ragged", Run("onnx-run", "--onnx", foreign, "--inputs", inputs).Err);
        File.WriteAllText(inputs, "{\"z\": [[1, 2, 3]]}");
        Assert.Contains("'x'", Run("onnx-run", "--onnx", foreign, "--inputs", inputs).Err);
        File.WriteAllText(inputs, "{\"input_ids\": [[2.5, 3]], \"attention_mask\": [[1, 1]]}");
        Assert.Contains("int64", Run("onnx-run", "--onnx", onnx, "--inputs", inputs).Err);
        File.WriteAllBytes(foreign, new byte[] { 1, 2, 3, 4, 5 });
        var corrupt = Run("onnx-run", "--onnx", foreign, "--inputs", inputs);
        Assert.Equal(1, corrupt.Code);
        Assert.Contains("foreign.onnx", corrupt.Err);
    }

    [Fact]
    public void BadUsage_GivesClearErrors()
    {
        var r = Run("train", "--task", "ranking", "--train", "x", "--model", "y");
        Assert.Equal(2, r.Code);
        Assert.Contains("'ranking'", r.Err);
        Assert.Contains("--task", r.Err);
        Assert.Contains("'regression'", r.Err);
        Assert.Single(r.Err.Trim().Split('\n'));
        r = Run("train", "--task", "binary", "--train", Path.Combine(_dir, "missing.tsv"), "--model", "m");
        Assert.Equal(2, r.Code); // a missing input file is a usage error, found before any work
        Assert.Contains("--train", r.Err);
        Assert.Contains("missing.tsv", r.Err);
        r = Run("evaluate", "--model", Path.Combine(_dir, "missing.mlnt"), "--test", Path.Combine(_dir, "missing.tsv"));
        Assert.Equal(2, r.Code);
        Assert.Contains("missing.mlnt", r.Err);
        string bad = Path.Combine(_dir, "one-col.tsv");
        File.WriteAllLines(bad, new[] { "sentence", "hello" });
        r = Run("train", "--task", "binary", "--train", bad, "--model", Path.Combine(_dir, "m"));
        Assert.Equal(1, r.Code);
        Assert.Contains("label column", r.Err);
        r = Run("predict", "--model", bad, "--text", "x");
        Assert.Equal(1, r.Code);
        Assert.Contains("one-col.tsv", r.Err);
        r = Run();
        Assert.Equal(2, r.Code); // no command: usage on stderr, exit 2
        Assert.Contains("A command is required.", r.Err);
        Assert.Equal(0, Run("--help").Code);
        r = Run("frobnicate");
        Assert.Equal(2, r.Code);
        Assert.DoesNotContain("   at ", r.Err); // no stack traces for user errors
    }

    [Fact]
    public async Task Data_ThroughPipesAndStandardInput_GivesEveryRow_AndBlankLabelsAreErrors()
    {
        var lines = File.ReadAllLines(TestData.ReviewsPath);
        string train = Path.Combine(_dir, "small.tsv"), test = Path.Combine(_dir, "small-test.tsv"), model = Path.Combine(_dir, "small.mlnt");
        File.WriteAllLines(train, lines.Take(201));
        File.WriteAllLines(test, lines.Take(1).Concat(lines.Skip(201).Take(150)));
        var t = Run("train", "--task", "binary", "--train", train, "--model", model, "--epochs", "2", "--dim", "32", "--ffn", "64", "--vocab", "200", "--max-tokens", "24");
        Assert.True(t.Code == 0, t.Err);
        var fromFile = LastJson(Run("evaluate", "--model", model, "--test", test).Out);
        Assert.Equal(150, (int)fromFile["rows"]!);

        // Standard input as "-".
        var stdin = RunWithInput(File.ReadAllText(test), "evaluate", "--model", model, "--test", "-");
        Assert.True(stdin.Code == 0, stdin.Err);
        Assert.Equal(fromFile.ToJsonString(), LastJson(stdin.Out).ToJsonString());

        // A named pipe (what bash's <(…) hands over): read once, every row.
        string fifo = Path.Combine(_dir, "rows.fifo");
        using (var mk = Process.Start("mkfifo", fifo)) mk.WaitForExit();
        var writer = Task.Run(() => File.WriteAllText(fifo, File.ReadAllText(test)));
        var piped = Run("evaluate", "--model", model, "--test", fifo);
        await writer.WaitAsync(TimeSpan.FromSeconds(60));
        Assert.True(piped.Code == 0, piped.Err);
        Assert.Equal(fromFile.ToJsonString(), LastJson(piped.Out).ToJsonString());

        // A blank or unknown label is an error naming the file and line, not a silent false.
        var bad = lines.Take(1).Concat(lines.Skip(201).Take(5)).ToArray();
        bad[3] = bad[3].Split('\t')[0] + "\t";
        File.WriteAllLines(test, bad);
        var blank = Run("evaluate", "--model", model, "--test", test);
        Assert.Equal(1, blank.Code);
        Assert.Contains("line 4", blank.Err);
        Assert.Contains("blank", blank.Err);
        bad[3] = bad[3] + "maybe";
        File.WriteAllLines(test, bad);
        var unknown = Run("train", "--task", "binary", "--train", test, "--model", Path.Combine(_dir, "never.mlnt"));
        Assert.Equal(1, unknown.Code);
        Assert.Contains("'maybe'", unknown.Err);
        Assert.False(File.Exists(Path.Combine(_dir, "never.mlnt")));
        Assert.Contains("is a directory", Run("evaluate", "--model", model, "--test", _dir).Err);
    }

    [Fact]
    public void Generate_IsBounded_AndPrintsTheText()
    {
        string text = Path.Combine(_dir, "verse.txt"), model = Path.Combine(_dir, "lm.mlnt");
        File.WriteAllText(text, string.Concat(Enumerable.Repeat("the cat sat on the mat and the dog sat on the log. ", 40)));
        var t = Run("train-lm", "--text", text, "--model", model, "--steps", "30", "--context", "16", "--layers", "1", "--dim", "16", "--heads", "2", "--ffn", "32");
        Assert.True(t.Code == 0, t.Err);
        var int8 = Run("export-onnx", "--model", model, "--out", Path.Combine(_dir, "lm8.onnx"), "--int8");
        Assert.Equal(2, int8.Code);                     // a language model exports in float only: a usage error
        Assert.Contains("--int8", int8.Err);
        Assert.False(File.Exists(Path.Combine(_dir, "lm8.onnx")));
        var huge = Run("generate", "--model", model, "--prompt", "the ", "--max-new-tokens", "2000000000");
        Assert.Equal(2, huge.Code);
        Assert.Contains("--max-new-tokens", huge.Err);
        var g = Run("generate", "--model", model, "--prompt", "the ", "--max-new-tokens", "7", "--temperature", "0");
        Assert.True(g.Code == 0, g.Err);
        var json = LastJson(g.Out);
        Assert.Equal(7, ((string)json["generated"]!).Length);
        Assert.StartsWith("the " + (string)json["generated"]!, g.Out); // streamed after the prompt, then the JSON line
        // Many prompts from a file decode together: one JSON line each, the single-prompt output for the same prompt.
        string prompts = Path.Combine(_dir, "prompts.txt");
        File.WriteAllLines(prompts, new[] { "the ", "a", "" });
        var many = Run("generate", "--model", model, "--input", prompts, "--max-new-tokens", "7", "--temperature", "0");
        Assert.True(many.Code == 0, many.Err);
        var lines = many.Out.Trim().Split('\n').Select(l => JsonNode.Parse(l)!).ToArray();
        Assert.Equal(3, lines.Length);
        Assert.Equal((string)json["generated"]!, (string)lines[0]["generated"]!);
        Assert.Equal(2, Run("generate", "--model", model, "--prompt", "x", "--input", prompts).Code);
    }

    [Fact]
    public void Divergence_AndADirectoryAsModel_AreOneLineErrors()
    {
        var r = Run("train", "--task", "binary", "--train", TestData.ReviewsPath, "--model", Path.Combine(_dir, "diverged.mlnt"), "--lr", "1e30", "--epochs", "1");
        Assert.Equal(1, r.Code);
        Assert.Contains("diverged", r.Err);
        Assert.DoesNotContain("   at ", r.Err);
        Assert.Single(r.Err.Trim().Split('\n'), l => l.StartsWith("error"));
        var sw = System.Diagnostics.Stopwatch.StartNew();
        r = Run("train", "--task", "binary", "--train", TestData.ReviewsPath, "--model", _dir);
        Assert.Equal(1, r.Code);
        Assert.Contains("is a directory", r.Err);
        Assert.DoesNotContain("epoch", r.Err); // refused before training
    }

    [Fact]
    public void ATimeBudgetTooShortToTrain_IsAnError_AndSavesNothing()
    {
        string model = Path.Combine(_dir, "untrained.mlnt");
        var r = Run("train", "--task", "binary", "--train", TestData.ReviewsPath, "--model", model, "--time-budget", "0.000001");
        Assert.Equal(1, r.Code);
        Assert.Contains("nothing was trained", r.Err);
        Assert.False(File.Exists(model));
    }

    [Theory]
    [InlineData("--time-budget", "abc")]
    [InlineData("--time-budget", "1,5")]      // not 15: no group separators
    [InlineData("--time-budget", "1e300")]    // beyond any TimeSpan
    [InlineData("--time-budget", "Infinity")]
    [InlineData("--time-budget", "0")]
    [InlineData("--lr", "Infinity")]
    [InlineData("--lr", "NaN")]
    [InlineData("--warmup", "-5")]
    [InlineData("--max-tokens", "2")]
    public void BadNumbers_AreUsageErrorsNamingTheOption(string option, string value)
    {
        var r = Run("train", "--task", "binary", "--train", TestData.ReviewsPath, "--model", Path.Combine(_dir, "never.mlnt"), option, value);
        Assert.Equal(2, r.Code);
        Assert.Contains(option, r.Err);
        Assert.Contains(value, r.Err);
        Assert.DoesNotContain("   at ", r.Err);
        Assert.False(File.Exists(Path.Combine(_dir, "never.mlnt")));
    }

    [Theory]
    [InlineData("train")]
    [InlineData("evaluate")]
    [InlineData("predict")]
    [InlineData("train-lm")]
    [InlineData("generate")]
    [InlineData("perplexity")]
    [InlineData("export-onnx")]
    [InlineData("onnx-run")]
    [InlineData("train-seq2seq")]
    [InlineData("translate")]
    [InlineData("evaluate-seq2seq")]
    [InlineData("fill-mask")]
    public void EveryCommand_HasHelp_AndRefusesUnknownOptionsAndMissingOnesInOneLine(string command)
    {
        var help = Run(command, "--help");
        Assert.Equal(0, help.Code);
        Assert.Contains($"mlnet-transformers {command} [options]", help.Out);
        Assert.Contains("--model", help.Out.Replace("--onnx", "--model")); // every command names its model
        var unknown = Run(command, "--frobnicate", "1");
        Assert.Equal(2, unknown.Code);
        Assert.Contains("--frobnicate", unknown.Err);
        Assert.Single(unknown.Err.Trim().Split('\n'));
        var missing = Run(command);
        Assert.Equal(2, missing.Code);
        Assert.Contains("is required", missing.Err);
        Assert.Single(missing.Err.Trim().Split('\n'));
    }

    [Fact]
    public void HelpDefaults_AreTheOptionClasses()
    {
        var cls = new MLNetTransformers.Classification.TransformerClassifierOptions();
        var train = Run("train", "--help").Out;
        Assert.Matches($@"--dim <dim>\s+d_model \[default: {cls.ModelDim}\]", train);
        Assert.Matches($@"--ngram-buckets <ngram-buckets>.*\[default: {cls.NGramBuckets}\]", train);
        Assert.Contains("[default: 0.1]", train); // dropout as written, not as a float's long decimal
        var lm = new MLNetTransformers.LanguageModeling.LanguageModelOptions();
        var trainLm = Run("train-lm", "--help").Out;
        Assert.Matches($@"--layers <layers>.*\[default: {lm.Layers}\]", trainLm);
        Assert.Matches($@"--steps <steps>.*\[default: {lm.MaxSteps}\]", trainLm);
        Assert.Matches($@"--eval-every <eval-every>.*\[default: {lm.ValidateEverySteps}\]", trainLm);
    }

    [Theory]
    [InlineData("--steps", "abc")]
    [InlineData("--lr", "NaN")]
    [InlineData("--context", "0")]
    [InlineData("--heads", "3")]
    [InlineData("--tokenizer", "morse")]
    public void TrainLm_BadValues_AreUsageErrorsNamingTheOption(string option, string value)
    {
        string text = Path.Combine(_dir, "t.txt"), model = Path.Combine(_dir, "never.mlnt");
        File.WriteAllText(text, "some text to learn from. ");
        var r = Run("train-lm", "--text", text, "--model", model, option, value);
        Assert.Equal(2, r.Code);
        Assert.Contains(option, r.Err);
        Assert.Contains(value, r.Err);
        Assert.Single(r.Err.Trim().Split('\n'));
        Assert.False(File.Exists(model));
    }

    [Fact]
    public void APipelineRunningAnOnnxModel_SavesAndScoresInAFreshProcess()
    {
        var lines = File.ReadAllLines(TestData.ReviewsPath);
        string train = Path.Combine(_dir, "train.tsv"), test = Path.Combine(_dir, "test.tsv");
        string model = Path.Combine(_dir, "m.mlnt"), withOnnx = Path.Combine(_dir, "with-onnx.mlnt");
        File.WriteAllLines(train, lines.Take(201));
        File.WriteAllLines(test, lines.Take(1).Concat(lines.Skip(201).Take(100)));
        Assert.Equal(0, Run("train", "--task", "binary", "--train", train, "--model", model, "--epochs", "2", "--dim", "32", "--ffn", "64", "--vocab", "200", "--max-tokens", "24").Code);
        // In this process: tokenizer → the classifier's exported network in ONNX Runtime → the classifier, saved as one model.
        var ml = new Microsoft.ML.MLContext(1);
        var loaded = TransformerModel.Load(ml, model, out var schema);
        var classifier = TransformerModel.Parts(loaded).OfType<Classification.TransformerClassificationTransformer>().Single();
        var tokenizer = new Tokenization.TokenizerTransformer(classifier.Tokenizer, classifier.TextColumnName);
        var onnx = new Onnx.OnnxModelTransformer(new Onnx.OnnxModelOptions { ModelBytes = Onnx.OnnxExporter.Export(classifier.Model, classifier.Tokenizer) });
        var chain = new Microsoft.ML.Data.TransformerChain<Microsoft.ML.ITransformer>(tokenizer, onnx, classifier);
        TransformerModel.Save(ml, chain, schema, withOnnx);
        // A fresh process loads it (the ONNX part restored from inside the file, its session opened) and scores every row
        // with it (the ONNX columns are computed only when read: their values are compared in the Onnx tests).
        var plain = Run("evaluate", "--model", model, "--test", test);
        var viaOnnx = Run("evaluate", "--model", withOnnx, "--test", test);
        Assert.True(viaOnnx.Code == 0, viaOnnx.Err);
        Assert.Equal(LastJson(plain.Out).ToJsonString(), LastJson(viaOnnx.Out).ToJsonString());
        Assert.Equal(100, (int)LastJson(viaOnnx.Out)["rows"]!);
    }

    [Fact]
    public void BinaryGarbageInAFile_IsShownEscaped_NotEchoedRaw()
    {
        string bad = Path.Combine(_dir, "garbage.tsv");
        File.WriteAllText(bad, "text\tlabel\nfine text\t\u0001\u001b[31mred\u0007\n");
        var r = Run("train", "--task", "binary", "--train", bad, "--model", Path.Combine(_dir, "never.mlnt"));
        Assert.Equal(1, r.Code);
        Assert.Contains("\\u001b", r.Err);
        Assert.False(r.Err.Any(c => char.IsControl(c) && c != '\n'), r.Err);
    }

    [Fact]
    public void Seq2Seq_TrainTranslateEvaluate_FromParallelFiles()
    {
        var lexicon = new Dictionary<string, string> { ["red"] = "rot", ["dog"] = "hund", ["cat"] = "katze", ["big"] = "gross", ["runs"] = "rennt", ["the"] = "der" };
        var rng = new Random(4);
        var words = lexicon.Keys.ToArray();
        var src = Enumerable.Range(0, 400).Select(_ => string.Join(' ', Enumerable.Range(0, 2 + rng.Next(3)).Select(_ => words[rng.Next(words.Length)]))).ToArray();
        string source = Path.Combine(_dir, "train.en"), target = Path.Combine(_dir, "train.de"), model = Path.Combine(_dir, "mt.mlnt");
        File.WriteAllLines(source, src);
        File.WriteAllLines(target, src.Select(s => string.Join(' ', s.Split(' ').Select(w => lexicon[w]))));
        var t = Run("train-seq2seq", "--source", source, "--target", target, "--model", model, "--epochs", "25", "--dim", "48", "--heads", "4", "--ffn", "96",
            "--vocab", "60", "--max-tokens", "12", "--lr", "2e-3", "--dropout", "0", "--beam", "2");
        Assert.True(t.Code == 0, t.Err);
        Assert.True((long)LastJson(t.Out)["steps"]! > 0);
        var tr = Run("translate", "--model", model, "--text", "the big dog");
        Assert.True(tr.Code == 0, tr.Err);
        Assert.Equal("der gross hund", tr.Out.Trim());
        AssertAttentionMaps(model, "the big dog", expectedMaps: 2 * 4); // 2 layers × 4 heads of cross-attention
        var e = Run("evaluate-seq2seq", "--model", model, "--source", source, "--target", target);
        Assert.True(e.Code == 0, e.Err);
        var m = LastJson(e.Out);
        Assert.True((double)m["bleu"]! > 80, e.Out);
        Assert.Equal(400, (int)m["sentences"]!);
        Assert.Contains("tok:13a", (string)m["signature"]!);
        // The same pairs as a two-column TSV.
        string tsv = Path.Combine(_dir, "pairs.tsv");
        File.WriteAllLines(tsv, new[] { "en\tde" }.Concat(File.ReadAllLines(source).Zip(File.ReadAllLines(target), (a, b) => a + "\t" + b)));
        var fromTsv = LastJson(Run("evaluate-seq2seq", "--model", model, "--pairs", tsv).Out);
        Assert.Equal(((double)m["bleu"]!, (double)m["chrf"]!, (int)m["sentences"]!), ((double)fromTsv["bleu"]!, (double)fromTsv["chrf"]!, (int)fromTsv["sentences"]!));
        Assert.Equal(2, Run("evaluate-seq2seq", "--model", model).Code); // neither files nor pairs
        foreach (var texts in new[] { new[] { "--text", "the dog", "--input", source }, Array.Empty<string>() })
        {
            var both = Run(new[] { "translate", "--model", model }.Concat(texts).ToArray());
            Assert.Equal(2, both.Code);
            Assert.StartsWith("error: Give exactly one of --text and --input.", both.Err.Trim());
            Assert.Single(both.Err.Trim().Split('\n'));
        }

        // Decoding flags: n-best with scores, seeded sampling, and refusals naming the flag.
        var nBest = Run("translate", "--model", model, "--text", "the big dog", "--n-best", "2");
        Assert.True(nBest.Code == 0, nBest.Err);
        Assert.Equal(4, nBest.Out.Trim().Split('\t').Length);
        var s1 = Run("translate", "--model", model, "--input", source, "--sample", "--temperature", "2", "--seed", "3");
        Assert.True(s1.Code == 0, s1.Err);
        Assert.Equal(s1.Out, Run("translate", "--model", model, "--input", source, "--sample", "--temperature", "2", "--seed", "3").Out);
        Assert.NotEqual(s1.Out, Run("translate", "--model", model, "--input", source, "--sample", "--temperature", "2", "--seed", "4").Out);
        foreach (var (args, flag) in new[] { (new[] { "--beam", "0" }, "--beam"), (new[] { "--sample", "--beam", "2" }, "--beam"), (new[] { "--top-p", "1.5" }, "--top-p"), (new[] { "--batch-size", "0" }, "--batch-size") })
        {
            var bad = Run(new[] { "translate", "--model", model, "--text", "the dog" }.Concat(args).ToArray());
            Assert.Equal(2, bad.Code);
            Assert.StartsWith($"error: {flag}:", bad.Err.Trim());
            Assert.Single(bad.Err.Trim().Split('\n'));
        }

        // ONNX export of an encoder-decoder: a directory with its two graphs, giving the same greedy translations.
        string onnxDir = Path.Combine(_dir, "mt-onnx");
        var x = Run("export-onnx", "--model", model, "--out", onnxDir);
        Assert.True(x.Code == 0, x.Err);
        Assert.Equal(2, LastJson(x.Out)["files"]!.AsArray().Count);
        using (var onnx = Onnx.OnnxSeq2SeqModel.Load(onnxDir))
        {
            var t2 = onnx.Tokenizer!;
            var ids = new int[12];
            int len = t2.Encode("the big dog", ids, new int[12]);
            var best = new Core.Models.Seq2SeqDecoder(onnx.CreateIncrementalDecoder()).Decode(new[] { ids[..len] }, t2.ClsId, t2.SepId, new() { BeamWidth = 2 });
            Assert.Equal("der gross hund", t2.Decode(best[0][0].Tokens));
        }
        File.WriteAllLines(target, new[] { "one line" });
        Assert.Contains("parallel files", Run("evaluate-seq2seq", "--model", model, "--source", source, "--target", target).Err);
    }

    [Fact]
    public void Seq2Seq_GruArchitectures_TrainTranslateAndRefuseBadSettings()
    {
        var lexicon = new Dictionary<string, string> { ["red"] = "rot", ["dog"] = "hund", ["cat"] = "katze", ["big"] = "gross", ["runs"] = "rennt", ["the"] = "der" };
        var rng = new Random(5);
        var words = lexicon.Keys.ToArray();
        var src = Enumerable.Range(0, 400).Select(_ => string.Join(' ', Enumerable.Range(0, 2 + rng.Next(3)).Select(_ => words[rng.Next(words.Length)]))).ToArray();
        string source = Path.Combine(_dir, "gru.en"), target = Path.Combine(_dir, "gru.de"), model = Path.Combine(_dir, "gru.mlnt");
        File.WriteAllLines(source, src);
        File.WriteAllLines(target, src.Select(s => string.Join(' ', s.Split(' ').Select(w => lexicon[w]))));
        var t = Run("train-seq2seq", "--source", source, "--target", target, "--model", model, "--arch", "gru-attention", "--attention", "general", "--epochs", "60",
            "--dim", "48", "--embedding-dim", "24", "--vocab", "60", "--max-tokens", "12", "--lr", "3e-3", "--dropout", "0", "--beam", "2");
        Assert.True(t.Code == 0, t.Err);
        var tr = Run("translate", "--model", model, "--text", "the big dog");
        Assert.True(tr.Code == 0, tr.Err);
        Assert.Equal("der gross hund", tr.Out.Trim());
        // Exported as two graphs (the GRU operator in the encoder), it translates the same through ONNX Runtime.
        string onnxDir = Path.Combine(_dir, "gru-onnx");
        var x = Run("export-onnx", "--model", model, "--out", onnxDir);
        Assert.True(x.Code == 0, x.Err);
        using (var onnx = Onnx.OnnxSeq2SeqModel.Load(onnxDir))
        {
            var tok = onnx.Tokenizer!;
            var ids = new int[12];
            int len = tok.Encode("the big dog", ids, new int[12]);
            var best = new Core.Models.Seq2SeqDecoder(onnx.CreateIncrementalDecoder()).Decode(new[] { ids[..len] }, tok.ClsId, tok.SepId, new() { BeamWidth = 2 });
            Assert.Equal("der gross hund", tok.Decode(best[0][0].Tokens));
        }
        // Its attention for one sentence: JSON and a heatmap that shows the weights the model computed.
        AssertAttentionMaps(model, "the big dog", expectedMaps: 1);
        foreach (var (args, flag) in new[] { (new[] { "--arch", "lstm" }, "--arch"), (new[] { "--arch", "gru-attention", "--attention", "dot", "--dim", "48" }, "--encoder-hidden") })
        {
            var bad = Run(new[] { "train-seq2seq", "--source", source, "--target", target, "--model", Path.Combine(_dir, "never.mlnt") }.Concat(args).ToArray());
            Assert.Equal(2, bad.Code);
            Assert.Contains(flag, bad.Err);
            Assert.Single(bad.Err.Trim().Split('\n'));
        }
    }

    // `attention` writes attention.json and one PNG per map; both hold what the library's AttentionMaps computes.
    private void AssertAttentionMaps(string model, string text, int expectedMaps)
    {
        string dir = Path.Combine(_dir, "attention-" + Path.GetFileNameWithoutExtension(model));
        var a = Run("attention", "--model", model, "--text", text, "--out", dir);
        Assert.True(a.Code == 0, a.Err);
        var summary = LastJson(a.Out);
        Assert.Equal(expectedMaps, (int)summary["maps"]!);
        var expected = TransformerModel.Parts(TransformerModel.Load(new Microsoft.ML.MLContext(), model, out _)).OfType<Translation.Seq2SeqTransformer>().Single().AttentionMaps(text);
        var written = JsonNode.Parse(File.ReadAllText(Path.Combine(dir, "attention.json")))!.AsArray();
        Assert.Equal(expected.Count, written.Count);
        for (int m = 0; m < expected.Count; m++)
        {
            var map = expected[m];
            Assert.Equal(map.KeyTokens, written[m]!["key_tokens"]!.AsArray().Select(t => (string)t!));
            Assert.Equal(map.QueryTokens, written[m]!["query_tokens"]!.AsArray().Select(t => (string)t!));
            var rows = written[m]!["weights"]!.AsArray();
            var plot = Plots.AttentionHeatmap.Create(map);
            for (int r = 0; r < map.Rows; r++)
            {
                Assert.Equal(1.0, rows[r]!.AsArray().Sum(w => (double)w!), 4); // each output token's weights over the source sum to 1
                for (int c = 0; c < map.Columns; c++)
                {
                    Assert.Equal(map.Weight(r, c), (float)rows[r]![c]!, 6);
                    Assert.Equal(map.Weight(r, c), Plots.AttentionHeatmap.Shown(plot, map, r, c), 6);
                }
            }
        }
        foreach (var png in summary["png"]!.AsArray().Select(p => (string)p!))
        {
            var bytes = File.ReadAllBytes(png);
            Assert.True(bytes.Length > 1000 && bytes[1] == (byte)'P' && bytes[2] == (byte)'N' && bytes[3] == (byte)'G', png);
        }
    }

    [Fact]
    public void OnnxRun_RefusesAnInputsFileOverItsBound_BeforeReadingIt()
    {
        string inputs = Path.Combine(_dir, "huge.json");
        using (var f = File.Create(inputs)) f.SetLength((64L << 20) + 1); // sparse: nothing is written
        var r = Run("onnx-run", "--onnx", inputs, "--inputs", inputs);
        Assert.Equal(1, r.Code);
        Assert.Contains("reads at most", r.Err);
        Assert.Contains("huge.json", r.Err);
    }

    [UnixFact]
    public void ASecondCtrlC_EndsTheProcess_WithoutSaving()
    {
        // A corpus whose vocabulary takes seconds to learn (that work is not interruptible), then two SIGINTs.
        string text = Path.Combine(_dir, "big.txt"), model = Path.Combine(_dir, "never.mlnt");
        var rng = new Random(3);
        var words = Enumerable.Range(0, 20000).Select(i => new string(Enumerable.Range(0, 3 + i % 7).Select(_ => (char)('a' + rng.Next(26))).ToArray())).ToArray();
        File.WriteAllText(text, string.Join(' ', Enumerable.Range(0, 1_500_000).Select(_ => words[rng.Next(words.Length)])));
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        psi.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "mlnet-transformers.dll"));
        foreach (var a in new[] { "train-lm", "--text", text, "--model", model, "--tokenizer", "learned", "--vocab", "20000", "--steps", "5" }) psi.ArgumentList.Add(a);
        // Each interrupt goes once the process is ready for it: the first after it says it has installed its handler (before,
        // the runtime would end it), the second after the first was handled (two signals close together coalesce).
        using var p = new Process { StartInfo = psi };
        var (ready, firstSeen) = (new ManualResetEventSlim(), new ManualResetEventSlim());
        p.ErrorDataReceived += (_, e) =>
        {
            if (e.Data?.Contains("Ctrl+C stops training", StringComparison.Ordinal) == true) ready.Set();
            if (e.Data?.Contains("Ctrl+C again to kill", StringComparison.Ordinal) == true) firstSeen.Set();
        };
        p.Start();
        p.BeginErrorReadLine();
        Assert.True(ready.Wait(60_000), "the CLI never said it was reading the corpus");
        Assert.False(p.HasExited, "the CLI finished before the interrupts: make the corpus larger");
        using (var kill = Process.Start("kill", $"-INT {p.Id}")) kill.WaitForExit();
        Assert.True(firstSeen.Wait(30_000), "the first Ctrl+C was not handled");
        using (var kill = Process.Start("kill", $"-INT {p.Id}")) kill.WaitForExit();
        Assert.True(p.WaitForExit(10_000), "a second Ctrl+C did not end the process");
        Assert.NotEqual(0, p.ExitCode);
        Assert.False(File.Exists(model));
    }
}

/// <summary>A fact that needs POSIX signals and tools (kill); skipped visibly elsewhere.</summary>
public sealed class UnixFactAttribute : FactAttribute
{
    public UnixFactAttribute()
    {
        if (!OperatingSystem.IsLinux() && !OperatingSystem.IsMacOS()) Skip = "Needs POSIX signals (kill -INT).";
        else if (SigIntIgnored()) Skip = "SIGINT is ignored in this process (a shell started the tests in the background), so the CLI inherits that and Ctrl+C cannot be tested.";
    }

    // /proc/self/status lists ignored signals as a hex mask; SIGINT (2) is bit 1. A child inherits an ignored disposition,
    // and .NET then installs no Ctrl+C handler.
    private static bool SigIntIgnored()
    {
        if (!File.Exists("/proc/self/status")) return false;
        var line = File.ReadLines("/proc/self/status").FirstOrDefault(l => l.StartsWith("SigIgn:", StringComparison.Ordinal));
        return line is not null && (Convert.ToUInt64(line[7..].Trim(), 16) & 0x2) != 0;
    }
}
