using Deque.AxeCore.Commons;
using Deque.AxeCore.Playwright;
using Microsoft.Playwright;

namespace CallMesh.Tests.Infrastructure;

/// <summary>axe-core (Deque's engine, through its Playwright binding) on a page as it stands.</summary>
public static class Accessibility
{
    /// <summary>WCAG 2.1 A and AA rules and axe's best practices; a serious or critical violation fails with what and where.</summary>
    public static async Task AssertNoSeriousViolationsAsync(IPage page, string screen)
    {
        var results = await page.RunAxe(new AxeRunOptions
        {
            RunOnly = new RunOnlyOptions { Type = "tag", Values = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"] },
        });
        var serious = results.Violations.Where(v => v.Impact is "serious" or "critical").ToList();
        Assert.True(serious.Count == 0, $"{screen}: " + string.Join("\n", serious.Select(v =>
            $"{v.Id} ({v.Impact}): {v.Help} at {string.Join("; ", v.Nodes.Select(n => n.Target?.ToString()))}")));
        Assert.True(results.Passes.Length > 10, $"{screen}: axe ran almost no rules");
    }

    /// <summary>The page scrolls only vertically at its viewport's width (wide tables scroll inside their own box).</summary>
    public static async Task AssertFitsWidthAsync(IPage page, string screen)
    {
        var sizes = await page.EvaluateAsync<int[]>("() => [window.innerWidth, document.documentElement.scrollWidth]");
        Assert.True(sizes[1] <= sizes[0], $"{screen}: the page is {sizes[1]} px wide in a {sizes[0]} px viewport");
    }
}
