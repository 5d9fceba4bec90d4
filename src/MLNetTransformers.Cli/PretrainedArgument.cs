namespace MLNetTransformers.Cli;

/// <summary>The <c>--pretrained</c> argument of <c>train</c> and <c>embed</c>.</summary>
internal static class PretrainedArgument
{
    /// <summary>
    /// <c>--pretrained</c>: a Hugging Face model folder, a PyTorch-exported BERT <c>.onnx</c> file with <c>vocab.txt</c>
    /// beside it, the name of the packaged model, or a hub id found in the Hugging Face cache. Anything else is a usage
    /// error; a bad file an error naming it.
    /// </summary>
    public static PretrainedEncoder Load(string path, int? maxTokens)
    {
        try
        {
            if (path == MiniLM.ModelName) return MiniLM.Load(maxTokens ?? PretrainedEncoder.DefaultMaxTokens);
            if (Directory.Exists(path)) return PretrainedEncoder.FromHuggingFaceFolder(path, maxTokens);
            if (File.Exists(path) && path.EndsWith(".onnx", StringComparison.OrdinalIgnoreCase)) return OnnxEncoderCheckpoint.LoadPretrained(path, maxTokens);
            // A hub id (bert-base-uncased, owner/name) that Python's transformers has downloaded into its cache.
            if (!File.Exists(path) && Core.Pretrained.HuggingFaceCache.IsModelId(path))
            {
                string snapshot;
                try { snapshot = Core.Pretrained.HuggingFaceCache.Resolve(path); }
                catch (DirectoryNotFoundException e) { throw new UsageException($"--pretrained '{path}' is neither a model folder, an .onnx file nor a packaged model name ({MiniLM.ModelName}); as a hub id: {e.Message}"); }
                return PretrainedEncoder.FromHuggingFaceFolder(snapshot, maxTokens);
            }
        }
        // A --max-tokens the tokenizer or the encoder's positions cannot take is the command line's fault, not the file's.
        catch (ArgumentException e) when (maxTokens is not null && e.ParamName is "maxTokens" or "tokenizer")
        {
            throw new UsageException($"--max-tokens {maxTokens}: {e.Message.ReplaceLineEndings(" ")}");
        }
        throw new UsageException($"--pretrained '{path}' is neither a model folder, an .onnx file nor a packaged model name ({MiniLM.ModelName}).");
    }
}
