namespace MLNetTransformers.Tokenization;

/// <summary>
/// Which of a BPE or tiktoken vocabulary's own tokens plays each special role, by the names Hugging Face vocabularies
/// use (the first found wins):
/// <list type="bullet">
/// <item>start: <c>[CLS]</c>, <c>&lt;s&gt;</c>, <c>&lt;|startoftext|&gt;</c>, <c>&lt;|begin_of_text|&gt;</c>, else the end token;</item>
/// <item>end: <c>[SEP]</c>, <c>&lt;/s&gt;</c>, <c>&lt;|endoftext|&gt;</c>, <c>&lt;|end_of_text|&gt;</c>, else the start token;</item>
/// <item>padding: <c>[PAD]</c>, <c>&lt;pad&gt;</c>, <c>&lt;|pad|&gt;</c>, <c>&lt;|padding|&gt;</c>, else the end token (what
/// Hugging Face users set for GPT-2: <c>pad_token = eos_token</c>; the attention mask says what is padding);</item>
/// <item>mask: <c>[MASK]</c>, <c>&lt;mask&gt;</c>, else none (-1): masked-LM pretraining and token dropout then refuse the vocabulary.</item>
/// </list>
/// Only a vocabulary with neither a start nor an end token gets ids past it: [CLS] and [SEP] are added after its last id,
/// as Hugging Face's <c>add_special_tokens</c> does, and the model's vocabulary grows by two.
/// </summary>
internal static class SpecialRoles
{
    private static readonly string[] Start = ["[CLS]", "<s>", "<|startoftext|>", "<|begin_of_text|>"];
    private static readonly string[] End = ["[SEP]", "</s>", "<|endoftext|>", "<|end_of_text|>"];
    private static readonly string[] Padding = ["[PAD]", "<pad>", "<|pad|>", "<|padding|>"];
    private static readonly string[] Mask = ["[MASK]", "<mask>"];

    /// <summary>The roles found in <paramref name="vocabulary"/> (token → id), and the model vocabulary size.</summary>
    /// <param name="vocabulary">The vocabulary's tokens and ids (special tokens included).</param>
    /// <param name="size">One past the vocabulary's largest id.</param>
    /// <param name="names">The vocabulary's spelling of each special id used.</param>
    public static (int Cls, int Sep, int Pad, int Mask, int VocabularySize) From(IReadOnlyDictionary<string, int> vocabulary, int size, out Dictionary<int, string>? names)
    {
        int Find(string[] candidates) => candidates.Select(c => vocabulary.TryGetValue(c, out int id) ? id : -1).FirstOrDefault(id => id >= 0, -1);
        int start = Find(Start), end = Find(End), pad = Find(Padding), mask = Find(Mask);
        if (start < 0 && end < 0)
        {
            (start, end) = (size, size + 1);
            size += 2;
        }
        else if (start < 0) start = end;
        else if (end < 0) end = start;
        if (pad < 0) pad = end;
        names = new Dictionary<int, string>();
        foreach (var (token, id) in vocabulary)
            if (id == start || id == end || id == pad || id == mask) names.TryAdd(id, token);
        return (start, end, pad, mask, size);
    }

    /// <summary>The layout of files written before specials came from the vocabulary: [CLS] [SEP] [PAD] [MASK] after it.</summary>
    /// <param name="size">One past the vocabulary's largest id.</param>
    public static (int Cls, int Sep, int Pad, int Mask, int VocabularySize) Appended(int size) => (size, size + 1, size + 2, size + 3, size + 4);
}
