namespace MLNetTransformers.Cli;

/// <summary>The <c>--pretrained</c> argument of <c>train</c> and <c>embed</c>.</summary>
internal static class PretrainedArgument
{
    /// <summary>
    /// <c>--pretrained</c>: a Hugging Face model folder (its weights, or its ONNX export, float or quantized, when it holds none), a
    /// PyTorch-exported BERT <c>.onnx</c> file with <c>vocab.txt</c> beside it, the name of the packaged model, or a hub id found in the Hugging Face cache. Anything else is a usage
    /// error; a bad file an error naming it.
    /// </summary>
    public static PretrainedEncoder Load(string path, int? maxTokens)
    {
        try
        {
            if (path == MiniLM.ModelName) return MiniLM.Load(maxTokens ?? PretrainedEncoder.DefaultMaxTokens);
            path = ModelFile.FolderOfHubId(path, "--pretrained", Neither);
            if (Directory.Exists(path)) return OnnxEncoderCheckpoint.LoadFolder(path, maxTokens); // its weights, or else its ONNX export
            if (File.Exists(path) && path.EndsWith(".onnx", StringComparison.OrdinalIgnoreCase)) return OnnxEncoderCheckpoint.LoadPretrained(path, maxTokens);
        }
        // A --max-tokens the tokenizer or the encoder's positions cannot take is the command line's fault, not the file's.
        catch (ArgumentException e) when (maxTokens is not null && e.ParamName is "maxTokens" or "tokenizer")
        {
            throw new UsageException($"--max-tokens {maxTokens}: {e.Message.ReplaceLineEndings(" ")}");
        }
        throw new UsageException($"--pretrained '{path}' is {Neither}.");
    }

    /// <summary>What <c>--pretrained</c> takes, for the commands' help.</summary>
    public const string Forms = $"a Hugging Face model folder (its weights, or its onnx/model.onnx, else model_fp16.onnx, model_quantized.onnx, model_q4.onnx or model_bnb4.onnx, when it holds none), a PyTorch-exported .onnx, float, half, int8- or 4-bit-quantized (BERT, DistilBERT, RoBERTa, ELECTRA, MPNet, ALBERT, DeBERTa; DeBERTa v1, ModernBERT, NomicBERT, JinaBERT, MosaicBERT, GTE, ESM, MegatronBERT, RoBERTa-PreLayerNorm, XLM-RoBERTa-XL with their config.json; a sequence classifier's, tagger's or reader's export with its config.json, its encoder read; tokenizer files beside it or one folder up), or {MiniLM.ModelName}";

    private const string Neither = $"neither a model folder, an .onnx file nor a packaged model name ({MiniLM.ModelName})";
}
