using MedSeg.Web.Features.Account;
using MedSeg.Web.Infrastructure;

var builder = WebApplication.CreateBuilder(args);
builder.AddMedSegConfiguration(args);
builder.AddMedSegData();
builder.AddMedSegAuth();
builder.AddMedSegJobs();
builder.AddMedSegFeatures();

var app = builder.Build();
await app.InitializeMedSegAsync();
app.MapMedSeg();
app.Run();

public partial class Program;
