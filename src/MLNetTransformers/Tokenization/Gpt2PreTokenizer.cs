using System.Text.RegularExpressions;
using Microsoft.ML.Tokenizers;

namespace MLNetTransformers.Tokenization;

/// <summary>
/// GPT-2's (and RoBERTa's) pre-tokenization: contractions, runs of letters, of digits and of other symbols, each with
/// the space before it, and runs of whitespace, by the pattern of openai/gpt-2's encoder.py.
/// </summary>
internal sealed partial class Gpt2PreTokenizer : PreTokenizer
{
    [GeneratedRegex(@"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+", RegexOptions.CultureInvariant)]
    private static partial Regex Pattern();

    public override IEnumerable<(int Offset, int Length)> PreTokenize(string text) => Split(text ?? "");

    public override IEnumerable<(int Offset, int Length)> PreTokenize(ReadOnlySpan<char> text) => Split(text.ToString());

    private static List<(int Offset, int Length)> Split(string text) => Pattern().Matches(text).Select(m => (m.Index, m.Length)).ToList();
}
