using Xunit;

namespace MLNetTransformers.Tests;

/// <summary>The samples' command lines: what is declared parses, anything else is named before a sample runs.</summary>
public class CommandArgumentsTests
{
    private static CommandArguments Parse(params string[] args) =>
        new(args, flags: ["--scratch"], counts: ["--epochs"], numbers: ["--lr"], texts: ["--train"], lists: ["--compare"]);

    [Fact]
    public void DeclaredOptions_Parse()
    {
        var a = Parse("--scratch", "--epochs", "3", "--lr", "-1e-4", "--train", "t.tsv", "--compare", "a.json", "b.json");
        Assert.Null(a.Problem());
        Assert.True(a.Has("--scratch"));
        Assert.Equal(3, a.GetInt("--epochs", 1));
        Assert.Equal(-1e-4, a.GetDouble("--lr", 0), 12);
        Assert.Equal("t.tsv", a.Get("--train"));
        Assert.Equal(["a.json", "b.json"], a.GetList("--compare"));
        Assert.Equal(7, Parse().GetInt("--epochs", 7));
        Assert.Null(Parse().Get("--train"));
    }

    [Theory]
    [InlineData("unknown option --epoch", "--epoch", "3")]
    [InlineData("--epochs needs a value", "--epochs")]
    [InlineData("--epochs needs a value", "--epochs", "--scratch")]
    [InlineData("--epochs takes a whole number of 0 or more, not 'x'", "--epochs", "x")]
    [InlineData("--epochs takes a whole number of 0 or more, not '-2'", "--epochs", "-2")]
    [InlineData("--lr takes a number, not 'fast'", "--lr", "fast")]
    [InlineData("--lr takes a number, not 'NaN'", "--lr", "NaN")]
    [InlineData("--scratch is given twice", "--scratch", "--scratch")]
    [InlineData("unexpected argument 'extra'", "--scratch", "extra")]
    [InlineData("--compare needs a value", "--compare")]
    public void BadCommandLines_AreNamed(string problem, params string[] args) => Assert.Equal(problem, Parse(args).Problem());

    private static CommandArguments Command(params string[] args) =>
        new(args, positives: ["--steps"], choices: new Dictionary<string, string[]> { ["--width"] = ["V128", "V256"] },
            optionalTexts: ["--peers"], positionals: ["train|infer", "N"]);

    [Fact]
    public void Positionals_ChoicesAndOptionalValues_Parse()
    {
        var a = Command("infer", "64", "--steps", "1", "--width", "V256", "--peers");
        Assert.Null(a.Problem());
        Assert.Equal("infer", a.Positional(0));
        Assert.Equal("64", a.Positional(1));
        Assert.Equal("V256", a.Get("--width"));
        Assert.True(a.Has("--peers"));
        Assert.Null(a.Get("--peers"));
        var b = Command("train", "8", "--peers", "torch", "--steps", "2");
        Assert.Null(b.Problem());
        Assert.Equal("torch", b.Get("--peers"));
        Assert.Equal(2, b.GetInt("--steps", 1));
    }

    [Theory]
    [InlineData("argument 1 must be one of train|infer, not 'fit'", "fit", "64")]
    [InlineData("argument 2 must be a whole number of 1 or more, not '0'", "train", "0")]
    [InlineData("takes 2 argument(s) before the options, got 1", "train", "--steps", "3")]
    [InlineData("takes 2 argument(s) before the options, got 0")]
    [InlineData("--steps takes a whole number of 1 or more, not '0'", "train", "4", "--steps", "0")]
    [InlineData("--width takes V128, V256, not 'V999'", "train", "4", "--width", "V999")]
    [InlineData("unknown option --with", "train", "4", "--with", "V128")]
    public void BadPositionalsAndChoices_AreNamed(string problem, params string[] args) => Assert.Equal(problem, Command(args).Problem());
}
