namespace Broker.Client.Tests.PublicApi;

public sealed class LineDiffTests
{
    [Fact]
    public void Only_changed_lines_are_shown_with_their_line_numbers()
    {
        var diff = LineDiff.Of("a\nb\nc\nd", "a\nx\nc\nd\ne");

        Assert.Equal("- 2: b\n+ 2: x\n+ 5: e\n", diff);
    }

    [Fact]
    public void Equal_texts_have_no_diff() => Assert.Equal("", LineDiff.Of("a\nb", "a\nb"));
}
