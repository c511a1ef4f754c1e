namespace Pinhole.Ocapn.Tests;

public class SmokeTests
{
    [Fact]
    public void Builds() => Assert.True(true);
}
