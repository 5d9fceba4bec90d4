using System.Net;
using System.Net.Http.Json;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.ML;
using MLNetTransformers.Serving;
using Xunit;

namespace MLNetTransformers.Tests;

/// <summary>Two small saved sentiment models that answer differently (the second to test reloading).</summary>
public sealed class SavedModelsFixture : IDisposable
{
    public MLContext Ml { get; } = new(seed: 1);
    public string Folder { get; } = Directory.CreateTempSubdirectory("serving-").FullName;
    public string PathA => Path.Combine(Folder, "a.mlnt");
    public string PathB => Path.Combine(Folder, "b.mlnt");
    public string[] Texts { get; } = File.ReadLines(TestData.ReviewsPath).Skip(1).Select(l => l.Split('\t')[0]).Take(64).ToArray();

    public SavedModelsFixture()
    {
        var data = TestData.Reviews(Ml);
        var a = TestData.Tiny(epochs: 2);
        var b = TestData.Tiny(epochs: 1);
        b.Seed = 7;
        TransformerModel.Save(Ml, Ml.BinaryClassification.Trainers.TransformerClassifier(a).Fit(data), data.Schema, PathA);
        TransformerModel.Save(Ml, Ml.BinaryClassification.Trainers.TransformerClassifier(b).Fit(data), data.Schema, PathB);
    }

    /// <summary>What a plain PredictionEngine over the model at <paramref name="path"/> answers for each text.</summary>
    public float[] Expected(string path)
    {
        var engine = Ml.Model.CreatePredictionEngine<Review, ReviewPrediction>(TransformerModel.Load(Ml, path, out _));
        return Texts.Select(t => engine.Predict(new Review { Text = t }).Probability).ToArray();
    }

    public void Dispose() => Directory.Delete(Folder, recursive: true);
}

public class ServingTests(SavedModelsFixture f) : IClassFixture<SavedModelsFixture>
{
    private static string CopyOf(string path)
    {
        string copy = Path.Combine(Directory.CreateTempSubdirectory("pool-").FullName, "model.mlnt");
        File.Copy(path, copy);
        return copy;
    }

    [Fact]
    public void Pool_AnswersConcurrentRequests_AsAPredictionEngineDoes()
    {
        var expected = f.Expected(f.PathA);
        using var pool = new TransformerPredictionEnginePool<Review, ReviewPrediction>(f.PathA, maximumRetained: 2);
        var got = new float[8, f.Texts.Length];
        Parallel.For(0, 8 * f.Texts.Length, new ParallelOptions { MaxDegreeOfParallelism = 8 }, i =>
            got[i / f.Texts.Length, i % f.Texts.Length] = pool.Predict(new Review { Text = f.Texts[i % f.Texts.Length] }).Probability);
        for (int r = 0; r < 8; r++)
            for (int i = 0; i < f.Texts.Length; i++) Assert.Equal(expected[i], got[r, i]);

        var engine = pool.GetPredictionEngine();
        Assert.Equal(expected[0], engine.Predict(new Review { Text = f.Texts[0] }).Probability);
        pool.ReturnPredictionEngine(engine);
        Assert.Same(pool.GetModel(), pool.GetModel());
    }

    [Fact]
    public void Pool_ReloadsAReplacedFile_AndKeepsServingTheOldModelWhenTheNewFileIsBad()
    {
        string path = CopyOf(f.PathA);
        float[] a = f.Expected(f.PathA), b = f.Expected(f.PathB);
        Assert.NotEqual(a, b);
        using var pool = new TransformerPredictionEnginePool<Review, ReviewPrediction>(path, watchForChanges: true);
        var reloads = new System.Collections.Concurrent.BlockingCollection<Exception?>();
        pool.ModelReloaded += reloads.Add;
        Assert.Equal(1, pool.ModelVersion);

        // A save over the file (atomic rename): the new model serves once loaded.
        TransformerModel.Save(f.Ml, TransformerModel.Load(f.Ml, f.PathB, out var schema), schema, path);
        Assert.True(reloads.TryTake(out var error, TimeSpan.FromSeconds(20)), "no reload within 20 s of the file being replaced");
        Assert.Null(error);
        Assert.Equal(2, pool.ModelVersion);
        Assert.Equal(b, f.Texts.Select(t => pool.Predict(new Review { Text = t }).Probability));

        // Garbage written in place: refused naming the file, and model B goes on serving.
        File.WriteAllBytes(path, new byte[] { 1, 2, 3, 4 });
        Assert.True(reloads.TryTake(out error, TimeSpan.FromSeconds(20)), "no reload attempt within 20 s of the file being rewritten");
        while (reloads.TryTake(out var later, TimeSpan.FromSeconds(1))) error = later;
        Assert.NotNull(error);
        Assert.Contains(path, error!.Message);
        Assert.Same(error, pool.LastReloadError);
        Assert.Equal(2, pool.ModelVersion);
        Assert.Equal(b, f.Texts.Select(t => pool.Predict(new Review { Text = t }).Probability));
    }

    [Fact]
    public void Pool_NamesAMissingFile_AndAModelThatDoesNotFitTheTypes()
    {
        string missing = Path.Combine(f.Folder, "none.mlnt");
        Assert.Contains(missing, Assert.Throws<FileNotFoundException>(() => new TransformerPredictionEnginePool<Review, ReviewPrediction>(missing)).Message);
        // An input class without the model's Text column fails at construction, naming the column, not at a request.
        var e = Assert.ThrowsAny<Exception>(() => new TransformerPredictionEnginePool<WrongInput, ReviewPrediction>(f.PathA));
        Assert.Contains("Text", e.Message);
    }

    [Fact]
    public void DependencyInjection_GivesOneSharedPool()
    {
        var services = new ServiceCollection().AddTransformerPredictionEnginePool<Review, ReviewPrediction>(f.PathA).BuildServiceProvider();
        var pool = services.GetRequiredService<TransformerPredictionEnginePool<Review, ReviewPrediction>>();
        Assert.Same(pool, services.GetRequiredService<TransformerPredictionEnginePool<Review, ReviewPrediction>>());
        Assert.Equal(f.Expected(f.PathA)[0], pool.Predict(new Review { Text = f.Texts[0] }).Probability);
        services.Dispose();
    }

    [Fact]
    public async Task WebApiSample_OnALoopbackPort_AnswersConcurrentHttpRequests_AsAPredictionEngineDoes()
    {
        var expected = f.Expected(f.PathA);
        var expectedLabels = f.Expected(f.PathA).Select(p => p > 0.5f).ToArray();
        await using var app = WebApi.SentimentApi.Create(["--ModelPath", f.PathA, "--urls", "http://127.0.0.1:0", "--Logging:LogLevel:Default", "Warning"]);
        await app.StartAsync();
        string address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single();
        Assert.StartsWith("http://127.0.0.1:", address);
        using var http = new HttpClient { BaseAddress = new Uri(address) };

        var answers = await Task.WhenAll(f.Texts.Concat(f.Texts).Select(async t =>
        {
            var response = await http.PostAsJsonAsync("/predict", new { text = t });
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            return (await response.Content.ReadFromJsonAsync<WebApi.PredictResponse>())!;
        }));
        for (int i = 0; i < answers.Length; i++)
        {
            Assert.Equal(expected[i % expected.Length], answers[i].Probability, 1e-6f);
            Assert.Equal(expectedLabels[i % expected.Length], answers[i].Positive);
        }

        foreach (var body in new object[] { new { text = "" }, new { other = 1 }, new { text = new string('a', WebApi.SentimentApi.MaxTextLength + 1) } })
        {
            var bad = await http.PostAsJsonAsync("/predict", body);
            Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
            Assert.Contains("text", await bad.Content.ReadAsStringAsync());
        }
        var notJson = await http.PostAsync("/predict", new StringContent("{not json", System.Text.Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.BadRequest, notJson.StatusCode);
        var health = await http.GetFromJsonAsync<System.Text.Json.JsonElement>("/health");
        Assert.Equal(1, health.GetProperty("modelVersion").GetInt32());
        await app.StopAsync();
    }

    [Fact]
    public void WebApiSample_WithoutAModel_SaysHowToMakeOne()
    {
        string missing = Path.Combine(f.Folder, "absent.mlnt");
        var e = Assert.Throws<FileNotFoundException>(() => WebApi.SentimentApi.Create(["--ModelPath", missing]));
        Assert.Contains(missing, e.Message);
        Assert.Contains("samples/SentimentClassification", e.Message);
    }

    public sealed class WrongInput
    {
        public string Body { get; set; } = "";
    }
}

public class ModelSaveTests(SavedModelsFixture f) : IClassFixture<SavedModelsFixture>
{
    [Fact]
    public void MlNetModelSave_SaysWhyItCannotHoldTheModel_AndNamesTheAlternative()
    {
        var model = TransformerModel.Load(f.Ml, f.PathA, out var schema);
        string path = Path.Combine(f.Folder, "stock.zip");
        var e = Assert.ThrowsAny<Exception>(() => f.Ml.Model.Save(model, schema, path));
        while (e is not NotSupportedException && e.InnerException is not null) e = e.InnerException;
        Assert.IsType<NotSupportedException>(e);
        Assert.Contains("TransformerModel.Save", e.Message);
        Assert.Contains("vocabulary", e.Message);
        Assert.Contains("no stock savable transform", e.Message);
    }
}
