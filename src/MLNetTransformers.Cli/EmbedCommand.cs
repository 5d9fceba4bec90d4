using MLNetTransformers.Embeddings;

namespace MLNetTransformers.Cli;

/// <summary>
/// <c>embed</c>: sentence embeddings of a pretrained encoder (as sentence-transformers computes them for its models), one
/// JSON line per text; with <c>--query</c>, each text's cosine similarity to the query instead (a small semantic search).
/// </summary>
internal static class EmbedCommand
{
    public static Command Create()
    {
        var pretrained = CliOption.Text("--pretrained", $"The encoder: {PretrainedArgument.Forms}", required: true);
        var texts = new TextOrLines("--text", "One text to embed", "A file with one text per line (- reads standard input)");
        var query = CliOption.Text("--query", "Print each text's cosine similarity to this text instead of its embedding");
        var maxTokens = CliOption.Int("--max-tokens", "Tokens per text, longer texts cut (default: the model's own length, at most 128)", 0);
        var batchSize = CliOption.Int("--batch-size", "Texts embedded together", 64);
        var command = new Command("embed", "Sentence embeddings of a pretrained encoder, one JSON line per text; with --query, cosine similarities")
            { pretrained, query, maxTokens, batchSize };
        texts.AddTo(command);
        command.SetAction(r => Run(r.GetValue(pretrained)!, texts.Read(r, out _), r.GetValue(query), r.GetValue(maxTokens), r.GetValue(batchSize)));
        return command;
    }

    private static int Run(string pretrained, string[] texts, string? query, int maxTokens, int batchSize)
    {
        if (maxTokens < 0 || maxTokens == 1) throw new UsageException($"--max-tokens must be 2 or more (or 0 for the model's own length), not {maxTokens}.");
        if (batchSize < 1) throw new UsageException($"--batch-size must be at least 1, not {batchSize}.");
        var encoder = PretrainedArgument.Load(pretrained, maxTokens == 0 ? null : maxTokens);
        using var generator = new TransformerEmbeddingGenerator(encoder, batchSize);
        long cut = 0;
        float[]? q = query is null ? null : generator.GenerateAsync([query]).GetAwaiter().GetResult()[0].Vector.ToArray();
        // Batch by batch, so that a long input streams out instead of waiting for the last line.
        for (int start = 0; start < texts.Length; start += batchSize)
        {
            var batch = texts[start..Math.Min(texts.Length, start + batchSize)];
            var vectors = generator.GenerateAsync(batch).GetAwaiter().GetResult();
            cut += vectors.Usage?.AdditionalCounts?.GetValueOrDefault(TransformerEmbeddingGenerator.TruncatedInputsCount) ?? 0;
            for (int i = 0; i < batch.Length; i++)
            {
                var v = vectors[i].Vector.Span;
                var line = new JsonObject { ["text"] = batch[i] };
                if (q is null) line["embedding"] = new JsonArray(v.ToArray().Select(x => (JsonNode)Math.Round(x, 6)).ToArray());
                else line["cosine"] = Math.Round(System.Numerics.Tensors.TensorPrimitives.CosineSimilarity(v, q), 6);
                Console.WriteLine(line.ToJsonString());
            }
        }
        // Texts cut to the tokenizer's length are embedded as cut (as sentence-transformers does): said once, with how to
        // embed more of them (a protein of 400 residues, say, under the default of 128 tokens).
        if (cut > 0)
            Console.Error.WriteLine($"note: {cut} of {texts.Length} text(s) had more than {encoder.Tokenizer.MaxTokens} tokens and were cut; --max-tokens sets the length (the encoder reads up to {encoder.Encoder.Config.MaxLength}).");
        return 0;
    }
}
