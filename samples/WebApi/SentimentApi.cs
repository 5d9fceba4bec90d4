using MLNetTransformers.Serving;

namespace WebApi;

/// <summary>
/// The sentiment model behind an ASP.NET Core minimal API: <c>POST /predict</c> with <c>{"text": "…"}</c> answers
/// <c>{"positive": true, "probability": 0.93}</c>; <c>GET /health</c> tells which load of the model file is serving.
/// Predictions go through a <see cref="TransformerPredictionEnginePool{TData, TPrediction}"/> in dependency injection, so
/// any number of requests run at once; the model file is reloaded when it is replaced.
/// </summary>
public static class SentimentApi
{
    /// <summary>Longest text accepted (characters); the model reads its first tokens only anyway.</summary>
    public const int MaxTextLength = 20_000;

    /// <summary>The application, configured but not started (<c>--ModelPath</c> and <c>--urls</c> as usual in ASP.NET Core).</summary>
    /// <param name="args">Command-line arguments.</param>
    public static WebApplication Create(string[] args)
    {
        var builder = WebApplication.CreateBuilder(args);
        string modelPath = builder.Configuration["ModelPath"] ?? "sentiment.mlnt";
        if (!File.Exists(modelPath))
            throw new FileNotFoundException($"No model at '{Path.GetFullPath(modelPath)}': train one with `dotnet run -c Release --project samples/SentimentClassification -- --model {modelPath}`, or pass --ModelPath PATH.", modelPath);
        builder.Services.AddTransformerPredictionEnginePool<Review, SentimentPrediction>(modelPath, watchForChanges: true);

        var app = builder.Build();
        app.MapPost("/predict", (PredictRequest? request, TransformerPredictionEnginePool<Review, SentimentPrediction> pool) =>
        {
            if (request?.Text is not { } text || string.IsNullOrWhiteSpace(text))
                return Results.Problem("The request needs a non-empty \"text\".", statusCode: StatusCodes.Status400BadRequest);
            if (text.Length > MaxTextLength)
                return Results.Problem($"\"text\" is {text.Length:N0} characters; at most {MaxTextLength:N0} are accepted.", statusCode: StatusCodes.Status400BadRequest);
            var p = pool.Predict(new Review { Text = text });
            return Results.Ok(new PredictResponse(p.PredictedLabel, p.Probability));
        });
        app.MapGet("/health", (TransformerPredictionEnginePool<Review, SentimentPrediction> pool) =>
            Results.Ok(new { modelVersion = pool.ModelVersion, lastReloadError = pool.LastReloadError?.Message }));
        // Load the model at start-up: a file that does not load stops the server now, naming it, not at the first request.
        _ = app.Services.GetRequiredService<TransformerPredictionEnginePool<Review, SentimentPrediction>>();
        return app;
    }
}

/// <summary>The request body of <c>POST /predict</c>.</summary>
/// <param name="Text">The text to classify.</param>
public sealed record PredictRequest(string? Text);

/// <summary>The answer of <c>POST /predict</c>.</summary>
/// <param name="Positive">Whether the text reads as positive.</param>
/// <param name="Probability">The probability of positive.</param>
public sealed record PredictResponse(bool Positive, float Probability);

/// <summary>The model's input row: the Text column it was trained on.</summary>
public sealed class Review
{
    /// <summary>The text.</summary>
    public string Text { get; set; } = "";
}

/// <summary>The model's output columns read here.</summary>
public sealed class SentimentPrediction
{
    /// <summary>Positive or not.</summary>
    public bool PredictedLabel { get; set; }
    /// <summary>The calibrated probability of positive.</summary>
    public float Probability { get; set; }
}
