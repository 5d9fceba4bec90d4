namespace MLNetTransformers.Tokenization;

/// <summary>Which tokenization algorithm and vocabulary a <see cref="TextTokenizer"/> uses.</summary>
public enum TokenizerKind
{
    /// <summary>A WordPiece vocabulary learned from the training text at Fit time, encoded by Microsoft.ML.Tokenizers' BERT tokenizer.</summary>
    Learned,
    /// <summary>BERT WordPiece from a <c>vocab.txt</c> file (one token per line).</summary>
    WordPiece,
    /// <summary>
    /// Byte-pair encoding over characters: from <c>vocab.json</c> and <c>merges.txt</c> files, or from a <c>tokenizer.json</c>
    /// as Hugging Face's tokenizers trains one (its pre-tokenizer, unknown token, subword prefix and word suffix, and the
    /// specials its post-processor places; DNABERT-2's).
    /// </summary>
    Bpe,
    /// <summary>One token per character, the alphabet learned from the training text (character-level language models).</summary>
    Character,
    /// <summary>
    /// GPT-2's byte-level BPE from <c>vocab.json</c> and <c>merges.txt</c> as RoBERTa uses it, special tokens
    /// (<c>&lt;s&gt;</c>, <c>&lt;/s&gt;</c>, <c>&lt;pad&gt;</c>, <c>&lt;unk&gt;</c>, <c>&lt;mask&gt;</c>) from the vocabulary itself.
    /// </summary>
    ByteLevelBpe,
    /// <summary>OpenAI's tiktoken encodings <c>cl100k_base</c> or <c>o200k_base</c> (from the Microsoft.ML.Tokenizers.Data packages).</summary>
    Tiktoken,
    /// <summary>
    /// A SentencePiece model, numbered as its family's tokenizer numbers it: XLM-RoBERTa's (<c>sentencepiece.bpe.model</c>:
    /// <c>&lt;s&gt;</c> 0, <c>&lt;pad&gt;</c> 1, <c>&lt;/s&gt;</c> 2, <c>&lt;unk&gt;</c> 3, the model's pieces one above their
    /// own ids, <c>&lt;mask&gt;</c> last; multilingual encoders: XLM-RoBERTa, multilingual E5 and MiniLM), ALBERT's
    /// (<c>spiece.model</c>: the model's own ids and special pieces) or DeBERTa-v2/v3's (<c>spm.model</c>: its own ids,
    /// <c>[MASK]</c> after the pieces).
    /// </summary>
    SentencePiece,
    /// <summary>
    /// ESM's (protein language models', <c>EsmTokenizer</c>): a <c>vocab.txt</c> whose tokens are matched whole, longest
    /// first (an amino acid a letter each, <c>&lt;mask&gt;</c> and the other specials), any other run of characters an
    /// <c>&lt;unk&gt;</c> per whitespace-separated word, whitespace itself dropped; <c>&lt;cls&gt; sequence &lt;eos&gt;</c>.
    /// </summary>
    Esm,
}
